module example.com/enterprise-plugin

go 1.25
