module example.com/plugin-mixed

go 1.25.0

require (
	github.com/google/uuid v1.5.0
	golang.org/x/mod v0.36.0
	rsc.io/quote v1.5.2
)

require (
	golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c // indirect
	rsc.io/sampler v1.3.0 // indirect
)
