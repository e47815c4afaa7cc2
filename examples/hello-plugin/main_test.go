package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	var names []string
	var factory func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error)
	HandlerRegisterer.RegisterHandlers(func(name string, f func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error)) {
		names = append(names, name)
		factory = f
	})
	if len(names) != 1 || names[0] != pluginName {
		t.Fatalf("registered %v, want [%s]", names, pluginName)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	extra := map[string]interface{}{pluginName: map[string]interface{}{"path": "/hi"}}
	handler, err := factory(context.Background(), extra, next)
	if err != nil {
		t.Fatal(err)
	}

	own := httptest.NewRecorder()
	handler.ServeHTTP(own, httptest.NewRequest(http.MethodGet, "/hi", nil))
	if own.Code != http.StatusOK || own.Body.String() != "hello from "+pluginName+"\n" {
		t.Errorf("/hi: %d %q", own.Code, own.Body.String())
	}
	other := httptest.NewRecorder()
	handler.ServeHTTP(other, httptest.NewRequest(http.MethodGet, "/other", nil))
	if other.Code != http.StatusTeapot {
		t.Errorf("/other was not passed on: %d", other.Code)
	}
}
