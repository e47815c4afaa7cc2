// Package main is a server plugin that shares packages with KrakenD CE 2.13.8: google/uuid,
// x/text and cespare/xxhash at the versions KrakenD links. It loads only when those packages
// were compiled exactly as in KrakenD's build.
package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cespare/xxhash/v2"
	"github.com/google/uuid"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// HandlerRegisterer is the symbol KrakenD looks up in a server plugin.
var HandlerRegisterer = registerer("shared")

type registerer string

// RegisterHandlers gives KrakenD the handler factory under the plugin's name.
func (r registerer) RegisterHandlers(f func(
	name string,
	handler func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error),
)) {
	f(string(r), func(_ context.Context, _ map[string]interface{}, next http.Handler) (http.Handler, error) {
		title := cases.Title(language.English)
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("X-Request-Id", uuid.NewString())
			w.Header().Set("X-Path-Hash", fmt.Sprint(xxhash.Sum64String(req.URL.Path)))
			w.Header().Set("X-Greeting", title.String("hello"))
			next.ServeHTTP(w, req)
		}), nil
	})
}

func main() {}
