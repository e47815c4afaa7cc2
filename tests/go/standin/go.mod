module krakend-tasks/standin

go 1.25.0

require (
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/google/uuid v1.6.0
	golang.org/x/text v0.37.0
)
