module example.com/fake-krakend

go 1.25.0

require (
	github.com/google/uuid v1.6.0
	github.com/luraproject/lura/v2 v2.14.1
	golang.org/x/mod v0.35.0
)
