// A consumer-group member written with kafka-go v0.4.25, the client library of the Go demo consumer, for the
// mixed-group test: it joins KAFKA_CONSUMER_GROUP on KAFKA_TOPIC with kafka-go's default balancers (range,
// then roundrobin), prints "read <partition> <offset> <key>" for every message (ReadMessage commits it), and
// closes the reader, leaving the group, on SIGTERM or SIGINT.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

func main() {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           strings.Split(os.Getenv("KAFKA_BROKER"), ","),
		GroupID:           os.Getenv("KAFKA_CONSUMER_GROUP"),
		Topic:             os.Getenv("KAFKA_TOPIC"),
		MinBytes:          1,
		MaxBytes:          10e6,
		MaxWait:           500 * time.Millisecond,
		HeartbeatInterval: time.Second,
	})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Println("started")
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Printf("error %v\n", err)
			}
			break
		}
		fmt.Printf("read %d %d %s\n", m.Partition, m.Offset, m.Key)
	}
	if err := r.Close(); err != nil {
		fmt.Printf("error %v\n", err)
	}
	fmt.Println("closed")
}
