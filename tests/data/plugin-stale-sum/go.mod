module example.com/tworounds

go 1.25.0

require (
	github.com/google/uuid v1.5.0
	rsc.io/quote v1.5.2
)
