// Command loader opens KrakenD plugins the way KrakenD does and reports in test-plugin's format.
// krakend-tasks builds it with the exact Go and target of the plugins it loads.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"plugin"
	"reflect"
	"strings"
	"time"
)

type serverRegisterer interface {
	RegisterHandlers(func(string, func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error)))
}

type clientRegisterer interface {
	RegisterClients(func(string, func(context.Context, map[string]interface{}) (http.Handler, error)))
}

type modifierRegisterer interface {
	RegisterModifiers(func(string, func(map[string]interface{}) func(interface{}) (interface{}, error), bool, bool))
}

// middlewareRegisterer is KrakenD Enterprise's middleware plugin type: KrakenD CE never looks it up.
type middlewareRegisterer interface {
	RegisterMiddlewares(func(string, func(map[string]interface{}, func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error)))
}

const middlewareSignature = "RegisterMiddlewares(func(string, func(map[string]interface {}, func(context.Context, interface {}) (interface {}, error)) func(context.Context, interface {}) (interface {}, error)))"

func main() {
	server := flag.Bool("s", false, "expect a HandlerRegisterer")
	client := flag.Bool("c", false, "expect a ClientRegisterer")
	modifier := flag.Bool("m", false, "expect a ModifierRegisterer")
	middleware := flag.Bool("M", false, "expect a MiddlewareRegisterer (KrakenD Enterprise)")
	if len(os.Args) > 1 && os.Args[1] == "test-plugin" { // accept KrakenD's command line too
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Println("At least one plugin is required.")
		os.Exit(1)
	}
	if !*server && !*client && !*modifier && !*middleware {
		fmt.Println("You must declare the expected type of the plugin.")
		os.Exit(1)
	}
	start := time.Now()
	failed := 0
	for _, path := range flag.Args() {
		p, err := plugin.Open(path)
		if err != nil {
			fmt.Printf("[KO] Unable to open the plugin %s.\n\t%s\n", path, strings.ReplaceAll(err.Error(), "\n", " "))
			failed++
			continue
		}
		ok := true
		if *server {
			ok = check(p, path, "SERVER", "HandlerRegisterer", func(sym plugin.Symbol) ([]string, bool) {
				r, is := sym.(serverRegisterer)
				if !is {
					return nil, false
				}
				var names []string
				r.RegisterHandlers(func(name string, _ func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error)) {
					names = append(names, name)
				})
				return names, true
			}) && ok
		}
		if *modifier {
			ok = check(p, path, "MODIFIER", "ModifierRegisterer", func(sym plugin.Symbol) ([]string, bool) {
				r, is := sym.(modifierRegisterer)
				if !is {
					return nil, false
				}
				var names []string
				r.RegisterModifiers(func(name string, _ func(map[string]interface{}) func(interface{}) (interface{}, error), _, _ bool) {
					names = append(names, name)
				})
				return names, true
			}) && ok
		}
		if *client {
			ok = check(p, path, "CLIENT", "ClientRegisterer", func(sym plugin.Symbol) ([]string, bool) {
				r, is := sym.(clientRegisterer)
				if !is {
					return nil, false
				}
				var names []string
				r.RegisterClients(func(name string, _ func(context.Context, map[string]interface{}) (http.Handler, error)) {
					names = append(names, name)
				})
				return names, true
			}) && ok
		}
		if *middleware {
			ok = check(p, path, "MIDDLEWARE", "MiddlewareRegisterer", func(sym plugin.Symbol) ([]string, bool) {
				r, is := sym.(middlewareRegisterer)
				if !is {
					return nil, false
				}
				var names []string
				r.RegisterMiddlewares(func(name string, _ func(map[string]interface{}, func(context.Context, interface{}) (interface{}, error)) func(context.Context, interface{}) (interface{}, error)) {
					names = append(names, name)
				})
				return names, true
			}) && ok
		}
		if !ok {
			failed++
		}
	}
	total := flag.NArg()
	if failed > 0 {
		fmt.Printf("[KO] %d tested plugin(s) in %s.\n%d plugin(s) failed.\n", total, time.Since(start), failed)
		os.Exit(1)
	}
	fmt.Printf("[OK] %d tested plugin(s) in %s\n", total, time.Since(start))
}

func check(p *plugin.Plugin, path, kind, symbol string, register func(plugin.Symbol) ([]string, bool)) bool {
	sym, err := p.Lookup(symbol)
	if err != nil {
		fmt.Printf("[KO] %s\t%s: The plugin does not contain a %s.\n", kind, path, symbol)
		return false
	}
	names, ok := register(sym)
	if !ok && kind == "MIDDLEWARE" {
		fmt.Printf("[KO] %s\t%s: %s does not implement the %s interface: want %s, have %s.\n", kind, path, symbol,
			kind, middlewareSignature, method(sym, "RegisterMiddlewares"))
		return false
	}
	if !ok {
		fmt.Printf("[KO] %s\t%s: %s does not implement the %s interface.\n", kind, path, symbol, kind)
		return false
	}
	fmt.Printf("[OK] %s\t%s\tregistered: %s\n", kind, path, strings.Join(names, ","))
	return true
}

// method is the symbol's method `name` as Go writes its type, or says that it has none.
func method(sym plugin.Symbol, name string) string {
	value := reflect.ValueOf(sym) // Lookup gives a pointer to the variable: both method sets
	m := value.MethodByName(name)
	if !m.IsValid() {
		if value.Kind() == reflect.Pointer {
			value = value.Elem()
		}
		return fmt.Sprintf("no method %s (the symbol is a %s)", name, value.Type())
	}
	return name + strings.TrimPrefix(m.Type().String(), "func")
}
