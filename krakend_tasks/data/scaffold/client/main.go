// Package main is __NAME__, a KrakenD HTTP client plugin: it calls the backend itself and
// adds a header to the request on the way.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// ClientRegisterer is the symbol KrakenD looks up in a client plugin.
var ClientRegisterer = registerer(pluginName)

// RegisterClients gives KrakenD the client factory under the plugin's name.
func (r registerer) RegisterClients(f func(
	name string,
	handler func(context.Context, map[string]interface{}) (http.Handler, error),
)) {
	f(string(r), r.registerClients)
}

func (r registerer) registerClients(_ context.Context, extra map[string]interface{}) (http.Handler, error) {
	config, _ := extra[pluginName].(map[string]interface{})
	header, _ := config["header"].(string)
	if header == "" {
		header = "X-Krakend-Plugin"
	}
	logger.Info(fmt.Sprintf("[PLUGIN: %s] adding the header %s", pluginName, header))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Header.Set(header, pluginName)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, values := range resp.Header {
			for _, v := range values {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}), nil
}
