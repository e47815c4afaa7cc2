// Package main is a test plugin whose modules differ from KrakenD 2.13.8's: uuid lower,
// x/mod higher, rsc.io/quote absent from KrakenD (and pulling an old x/text indirectly).
package main

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"golang.org/x/mod/semver"
	"rsc.io/quote"
)

// ClientRegisterer is the symbol KrakenD looks up.
var ClientRegisterer = registerer("mixed")

type registerer string

func (r registerer) RegisterClients(f func(string, func(context.Context, map[string]interface{}) (http.Handler, error))) {
	f(string(r), func(context.Context, map[string]interface{}) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(quote.Go() + uuid.NewString() + semver.Canonical("v1")))
		}), nil
	})
}

func main() {}
