module example.com/echo-client

go 1.22
