// Package main is a KrakenD HTTP server plugin that answers /__hello and passes the rest on.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

var pluginName = "hello"

// HandlerRegisterer is the symbol KrakenD looks up.
var HandlerRegisterer = registerer(pluginName)

type registerer string

func (r registerer) RegisterHandlers(f func(
	name string,
	handler func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error),
)) {
	f(string(r), r.registerHandlers)
}

func (r registerer) registerHandlers(_ context.Context, extra map[string]interface{}, next http.Handler) (http.Handler, error) {
	cfg, ok := extra[pluginName].(map[string]interface{})
	if !ok {
		return nil, errors.New("hello: no configuration")
	}
	path, _ := cfg["path"].(string)
	if path == "" {
		path = "/__hello"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != path {
			next.ServeHTTP(w, req)
			return
		}
		fmt.Fprintln(w, "hello from a KrakenD plugin")
	}), nil
}

// RegisterLogger receives KrakenD's logger.
func (registerer) RegisterLogger(interface{}) {}

func main() {}
