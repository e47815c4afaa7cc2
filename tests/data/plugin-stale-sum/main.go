// Package main needs two rounds of fixes: its go.sum predates `go mod tidy`.
package main

import (
	"github.com/google/uuid"
	"rsc.io/quote"
)

// Greeting is what the plugin exports.
func Greeting() string { return quote.Go() + uuid.NewString() }

func main() {}
