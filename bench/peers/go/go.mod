module compresstest/bench/peers/go

go 1.19
