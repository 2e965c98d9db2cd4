package policy_test

import (
	"fmt"
	"time"

	"github.com/leadops/repost/policy"
)

func ExampleEngine_Decide() {
	engine, err := policy.New(policy.Config{MaxAttempts: 10, Rand: func() float64 { return 0.5 }})
	if err != nil {
		panic(err)
	}
	d := engine.Decide(policy.Input{
		Code:     "1006",
		Message:  "Field 'role' not found",
		Attempts: 1,
		Now:      time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	})
	fmt.Println("action:", d.Action)
	fmt.Println("park as:", d.ParkCode)
	fmt.Println("field:", d.Field)
	fmt.Println("counts as an attempt:", d.Attempt)
	fmt.Println("delay:", d.Delay)
	fmt.Println("reason:", d.Reason)
	// Output:
	// action: park
	// park as: 1006
	// field: role
	// counts as an attempt: true
	// delay: 0s
	// reason: 1006 Field 'role' not found: park for a mapping or data fix (field role)
}
