package emulator_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

func Example() {
	s, err := emulator.Start(emulator.Options{APIKey: "k", Audiences: []int64{7}})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	body := `{"data":[{"action":"add","audienceId":7,"profileIntegrationId":"alice"}]}`
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v2/customer_audiences", strings.NewReader(body))
	req.Header.Set("Authorization", "ApiKey-v1 k")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	fmt.Println(resp.StatusCode)
	fmt.Println(s.State().Audiences[7])
	fmt.Println(s.Stats().ItemsApplied)
	// Output:
	// 204
	// [alice]
	// 1
}
