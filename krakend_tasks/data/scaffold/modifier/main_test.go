package main

import (
	"io"
	"net/url"
	"testing"
)

type request struct{ headers map[string][]string }

func (r request) Params() map[string]string    { return nil }
func (r request) Headers() map[string][]string { return r.headers }
func (r request) Body() io.ReadCloser          { return nil }
func (r request) Method() string               { return "GET" }
func (r request) URL() *url.URL                { return &url.URL{Path: "/"} }
func (r request) Query() url.Values            { return nil }
func (r request) Path() string                 { return "/" }

func TestModifier(t *testing.T) {
	var names []string
	var factory func(map[string]interface{}) func(interface{}) (interface{}, error)
	ModifierRegisterer.RegisterModifiers(func(name string, f func(map[string]interface{}) func(interface{}) (interface{}, error), onRequest, onResponse bool) {
		names = append(names, name)
		factory = f
		if !onRequest || onResponse {
			t.Errorf("applies to request %v, response %v", onRequest, onResponse)
		}
	})
	if len(names) != 1 || names[0] != pluginName {
		t.Fatalf("registered %v, want [%s]", names, pluginName)
	}
	modify := factory(map[string]interface{}{pluginName: map[string]interface{}{"header": "X-Test"}})
	req := request{headers: map[string][]string{}}
	if _, err := modify(req); err != nil {
		t.Fatal(err)
	}
	if got := req.headers["X-Test"]; len(got) != 1 || got[0] != pluginName {
		t.Errorf("header X-Test = %v", got)
	}
	if _, err := modify("not a request"); err == nil {
		t.Error("a value that is not a request was accepted")
	}
}
