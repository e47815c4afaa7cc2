// Package main is a KrakenD HTTP client plugin used by the tests.
package main

import (
	"context"
	"net/http"
)

// ClientRegisterer is the symbol KrakenD looks up.
var ClientRegisterer = registerer("echo-client")

type registerer string

func (r registerer) RegisterClients(f func(string, func(context.Context, map[string]interface{}) (http.Handler, error))) {
	f(string(r), func(context.Context, map[string]interface{}) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }), nil
	})
}

func main() {}
