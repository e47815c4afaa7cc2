package main

import (
	"context"
	"io"
	"net/url"
	"testing"
)

type request struct{ headers map[string][]string }

func (r request) Context() context.Context     { return context.Background() }
func (r request) Params() map[string]string    { return nil }
func (r request) Headers() map[string][]string { return r.headers }
func (r request) Body() io.ReadCloser          { return nil }
func (r request) Method() string               { return "GET" }
func (r request) URL() *url.URL                { return &url.URL{Path: "/"} }
func (r request) Query() url.Values            { return nil }
func (r request) Path() string                 { return "/" }

func TestMiddleware(t *testing.T) {
	var names []string
	var factory func(map[string]interface{}, func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error)
	MiddlewareRegisterer.RegisterMiddlewares(func(name string, f func(map[string]interface{}, func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error)) {
		names = append(names, name)
		factory = f
	})
	if len(names) != 1 || names[0] != pluginName {
		t.Fatalf("registered %v, want [%s]", names, pluginName)
	}
	var passed interface{}
	next := func(_ context.Context, in interface{}) (interface{}, error) {
		passed = in
		return "response", nil
	}
	handle := factory(map[string]interface{}{pluginName: map[string]interface{}{"header": "X-Test"}}, next)
	req := request{headers: map[string][]string{}}
	out, err := handle(context.Background(), req)
	if err != nil || out != "response" {
		t.Fatalf("got %v, %v: the rest of the pipe's answer was not passed back", out, err)
	}
	if passed == nil {
		t.Fatal("the request never reached the rest of the pipe")
	}
	if got := req.headers["X-Test"]; len(got) != 1 || got[0] != pluginName {
		t.Errorf("header X-Test = %v", got)
	}
	if _, err := handle(context.Background(), "not a request"); err == nil {
		t.Error("a value that is not a request was accepted")
	}
}
