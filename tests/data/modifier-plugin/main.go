// Package main is a KrakenD request/response modifier plugin used by the tests.
package main

import "context"

// ModifierRegisterer is the symbol KrakenD looks up.
var ModifierRegisterer = registerer("noop-modifier")

type registerer string

func (r registerer) RegisterModifiers(f func(string, func(map[string]interface{}) func(interface{}) (interface{}, error), bool, bool)) {
	f(string(r), func(map[string]interface{}) func(interface{}) (interface{}, error) {
		return func(in interface{}) (interface{}, error) { return in, nil }
	}, true, true)
}

// RegisterContext receives KrakenD's context.
func (registerer) RegisterContext(context.Context) {}

func main() {}
