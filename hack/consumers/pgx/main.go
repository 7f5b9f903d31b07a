// Command pgx is a PostgreSQL client written as an application would write it with
// github.com/jackc/pgx/v5: it connects with the DATABASE_URL entry of the managed Secret,
// handed to it as an environment variable, and prints current_user and the pgx version.
// The end-to-end demo (hack/demo) builds and runs it.
//
// It is a module of its own so that the operator's go.mod does not depend on pgx.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "pgx consumer: DATABASE_URL is not set")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	// pgx.Connect reads the URI as libpq does, including sslmode and channel_binding;
	// its errors name the host and user but never the password.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgx consumer: connect: %v\n", err)
		os.Exit(1)
	}
	defer conn.Close(context.Background())

	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
		fmt.Fprintf(os.Stderr, "pgx consumer: query: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(user)
	fmt.Println("pgx " + pgxVersion())
}

// pgxVersion is the pgx module version this program was built with.
func pgxVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/jackc/pgx/v5" {
				return dep.Version
			}
		}
	}
	return "(unknown version)"
}
