module example.com/noop-modifier

go 1.22
