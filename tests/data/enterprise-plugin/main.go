// Package main is a KrakenD Enterprise middleware plugin: it exports MiddlewareRegisterer only,
// a registerer KrakenD CE never looks up.
package main

import (
	"context"
	"net/http"
)

// MiddlewareRegisterer is the symbol KrakenD Enterprise looks up.
var MiddlewareRegisterer = registerer("mw")

type registerer string

func (r registerer) RegisterMiddlewares(f func(string, func(map[string]interface{}, func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error))) {
	f(string(r), func(_ map[string]interface{}, next func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error) {
		return next
	})
}

var _ = http.StatusOK

func main() {}
