// Package main is a KrakenD HTTP server plugin whose paths answer what each rule of KrakenD's
// integration specs needs: statuses, repeated headers, JSON, gzip, redirects, a dropped connection.
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

func (r registerer) registerHandlers(_ context.Context, _ map[string]interface{}, next http.Handler) (http.Handler, error) {
	base := "/__" + pluginName
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case base:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "hello from %s\n", pluginName)
		case base + "/json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"a":1,"b":[true,null,"s"],"c":{"d":1.5},"n":9007199254740993}`)
		case base + "/cookies":
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			io.WriteString(w, "ok")
		case base + "/created":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":7}`)
		case base + "/empty":
			w.WriteHeader(http.StatusNoContent)
		case base + "/redirect":
			http.Redirect(w, req, base+"/json", http.StatusFound)
		case base + "/redirect307":
			http.Redirect(w, req, base+"/echo", http.StatusTemporaryRedirect)
		case base + "/loop":
			http.Redirect(w, req, base+"/loop", http.StatusFound)
		case base + "/panic":
			panic("dropped on purpose")
		case base + "/gzip":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			z := gzip.NewWriter(w)
			io.WriteString(z, `{"zipped":true}`)
			z.Close()
		case base + "/echo":
			body, _ := io.ReadAll(req.Body)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]interface{}{"method": req.Method, "host": req.Host,
				"headers": req.Header, "body": string(body), "query": req.URL.RawQuery})
		default:
			next.ServeHTTP(w, req)
		}
	}), nil
}
