package runinfo

import "testing"

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "go run ./x"},
		{[]string{"-reps", "5"}, "go run ./x -reps 5"},
		{[]string{"-lock", ""}, "go run ./x -lock ''"},
		{[]string{"--config", "ml (shipped)=a.yaml"}, "go run ./x --config 'ml (shipped)=a.yaml'"},
		{[]string{"-only", "it's"}, `go run ./x -only 'it'\''s'`},
	} {
		if got := Command("go run ./x", tc.args); got != tc.want {
			t.Errorf("Command(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}
