// Package main is __NAME__, a KrakenD HTTP server plugin: it answers one path and passes
// every other request on to KrakenD.
package main

import (
	"context"
	"fmt"
	"net/http"
)

// HandlerRegisterer is the symbol KrakenD looks up in a server plugin.
var HandlerRegisterer = registerer(pluginName)

// RegisterHandlers gives KrakenD the handler factory under the plugin's name.
func (r registerer) RegisterHandlers(f func(
	name string,
	handler func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error),
)) {
	f(string(r), r.registerHandlers)
}

func (r registerer) registerHandlers(_ context.Context, extra map[string]interface{}, next http.Handler) (http.Handler, error) {
	config, _ := extra[pluginName].(map[string]interface{})
	path, _ := config["path"].(string)
	if path == "" {
		path = "/__" + pluginName
	}
	logger.Info(fmt.Sprintf("[PLUGIN: %s] answering %s", pluginName, path))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != path {
			next.ServeHTTP(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hello from %s\n", pluginName)
	}), nil
}
