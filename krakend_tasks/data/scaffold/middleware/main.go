// Package main is __NAME__, a KrakenD Enterprise middleware plugin: it adds a header to every
// request, then hands the request to the rest of the pipe. KrakenD CE never loads middleware plugins.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
)

// MiddlewareRegisterer is the symbol KrakenD Enterprise looks up in a middleware plugin.
var MiddlewareRegisterer = registerer(pluginName)

// RequestWrapper is the request KrakenD Enterprise hands to a middleware.
type RequestWrapper interface {
	Context() context.Context
	Params() map[string]string
	Headers() map[string][]string
	Body() io.ReadCloser
	Method() string
	URL() *url.URL
	Query() url.Values
	Path() string
}

// RegisterMiddlewares gives KrakenD Enterprise the middleware factory. Its signature must be exactly
// this one: `krakend-tasks test-load --type middleware` checks it as KrakenD Enterprise calls it.
func (r registerer) RegisterMiddlewares(f func(
	name string,
	factory func(map[string]interface{}, func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error),
)) {
	f(string(r), r.middleware)
}

// middleware is made once per endpoint or backend that names the plugin: `extra` is its
// plugin/middleware block, `next` the rest of the pipe.
func (r registerer) middleware(extra map[string]interface{}, next func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error) {
	config, _ := extra[pluginName].(map[string]interface{})
	header, _ := config["header"].(string)
	if header == "" {
		header = "X-Krakend-Plugin"
	}
	logger.Info(fmt.Sprintf("[PLUGIN: %s] adding the header %s", pluginName, header))
	return func(ctx context.Context, input interface{}) (interface{}, error) {
		req, ok := input.(RequestWrapper)
		if !ok {
			return nil, errors.New(pluginName + ": unknown request type")
		}
		req.Headers()[header] = []string{pluginName}
		return next(ctx, input)
	}
}
