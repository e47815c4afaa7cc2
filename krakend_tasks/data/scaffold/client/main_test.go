package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClient(t *testing.T) {
	var names []string
	var factory func(context.Context, map[string]interface{}) (http.Handler, error)
	ClientRegisterer.RegisterClients(func(name string, f func(context.Context, map[string]interface{}) (http.Handler, error)) {
		names = append(names, name)
		factory = f
	})
	if len(names) != 1 || names[0] != pluginName {
		t.Fatalf("registered %v, want [%s]", names, pluginName)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen", r.Header.Get("X-Test"))
		w.WriteHeader(http.StatusCreated)
	}))
	defer backend.Close()
	client, err := factory(context.Background(), map[string]interface{}{pluginName: map[string]interface{}{"header": "X-Test"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, backend.URL, nil)
	w := httptest.NewRecorder()
	client.ServeHTTP(w, req)
	if w.Code != http.StatusCreated || w.Header().Get("X-Seen") != pluginName {
		t.Errorf("got %d, X-Seen %q", w.Code, w.Header().Get("X-Seen"))
	}
}
