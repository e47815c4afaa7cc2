package main

import (
	"fmt"

	"github.com/google/uuid"
)

// pluginName is the name krakend.json uses for this plugin.
const pluginName = "__NAME__"

// registerer is the type of the symbol KrakenD looks up; main.go gives it its Register method.
type registerer string

// Logger is the part of KrakenD's logger (lura's logging.Logger) the plugin uses.
type Logger interface {
	Debug(v ...interface{})
	Info(v ...interface{})
	Warning(v ...interface{})
	Error(v ...interface{})
	Critical(v ...interface{})
	Fatal(v ...interface{})
}

// instance tells this loaded copy of the plugin apart in KrakenD's logs. github.com/google/uuid
// is a module KrakenD links too: a plugin loads only if such shared packages were compiled exactly
// as in KrakenD's own build (same version, same Go, from /go/pkg/mod), which krakend-tasks does
// and `test` checks.
var instance = uuid.NewString()

// logger is KrakenD's logger once RegisterLogger has run; until then it discards.
var logger Logger = noLogger{}

// RegisterLogger receives KrakenD's logger when the plugin is loaded.
func (registerer) RegisterLogger(v interface{}) {
	l, ok := v.(Logger)
	if !ok {
		return
	}
	logger = l
	logger.Debug(fmt.Sprintf("[PLUGIN: %s] logger loaded (instance %s)", pluginName, instance))
}

type noLogger struct{}

func (noLogger) Debug(...interface{})    {}
func (noLogger) Info(...interface{})     {}
func (noLogger) Warning(...interface{})  {}
func (noLogger) Error(...interface{})    {}
func (noLogger) Critical(...interface{}) {}
func (noLogger) Fatal(...interface{})    {}

func main() {}
