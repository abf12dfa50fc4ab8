module example.com/lab85/web

go 1.22
