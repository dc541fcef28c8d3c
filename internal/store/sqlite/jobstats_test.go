package sqlite_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestJobQueueStats(t *testing.T) { storetest.JobQueueStats(t, openTemp(t)) }
