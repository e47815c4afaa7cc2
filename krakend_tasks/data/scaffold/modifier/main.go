// Package main is __NAME__, a KrakenD request modifier plugin: it adds a header to every
// request before KrakenD sends it on.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
)

// ModifierRegisterer is the symbol KrakenD looks up in a modifier plugin.
var ModifierRegisterer = registerer(pluginName)

// RequestWrapper is the request KrakenD hands to a request modifier.
type RequestWrapper interface {
	Params() map[string]string
	Headers() map[string][]string
	Body() io.ReadCloser
	Method() string
	URL() *url.URL
	Query() url.Values
	Path() string
}

// RegisterModifiers gives KrakenD the modifier factory: it applies to requests, not responses.
func (r registerer) RegisterModifiers(f func(
	name string,
	factory func(map[string]interface{}) func(interface{}) (interface{}, error),
	appliesToRequest bool,
	appliesToResponse bool,
)) {
	f(string(r), r.requestModifier, true, false)
}

func (r registerer) requestModifier(extra map[string]interface{}) func(interface{}) (interface{}, error) {
	config, _ := extra[pluginName].(map[string]interface{})
	header, _ := config["header"].(string)
	if header == "" {
		header = "X-Krakend-Plugin"
	}
	logger.Info(fmt.Sprintf("[PLUGIN: %s] adding the header %s", pluginName, header))
	return func(input interface{}) (interface{}, error) {
		req, ok := input.(RequestWrapper)
		if !ok {
			return nil, errors.New(pluginName + ": unknown request type")
		}
		req.Headers()[header] = []string{pluginName}
		return input, nil
	}
}
