module example.com/krakend-plugins/hello

go 1.22
