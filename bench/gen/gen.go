// Package gen writes deterministic Capillary-style CSV files for tests and
// benchmarks: bill transactions (the perf-anchors data set) and customers.
// The same seed always gives the same bytes, so benchmark inputs and
// expected counts are reproducible without storing large files.
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// TransactionHeader is the header line of transaction files.
const TransactionHeader = "bill_number,bill_date,store_code,mobile,external_id,first_name,last_name,email,bill_amount,discount,gross_amount,payment_mode,status,item_count,notes"

// CustomerHeader is the header line of customer files.
const CustomerHeader = "firstname,lastname,mobile,email,gender,city,registered_on,source,loyaltyType,identifierType,external_id"

var (
	firstNames = []string{"Mary", "Ananya", "Noah", "Rahul", "Priya", "Arjun", "Sara", "Wei", "Fatima", "Liam", "Olivia", "Aarav", "Diya", "Kabir", "Meera", "Ivan", "Yuki", "Omar", "Chloe", "Vikram", "Isha", "Lucas", "Zara", "Rohan"}
	lastNames  = []string{"Ivanova", "Nair", "Lim", "Sharma", "Patel", "Iyer", "Khan", "Chen", "Garcia", "Smith", "Reddy", "Gupta", "Tanaka", "Singh", "Fernandes", "Mehta", "Das", "Brown", "Kumar", "Rao"}
	domains    = []string{"cap.test", "cap.test", "cap.test", "gmail.com", "example.org"}
	payModes   = []string{"CASH", "CARD", "UPI", "WALLET"}
	plainNotes = []string{"walk-in", "online order", "member visit", "repeat buyer", "gift purchase", "staff discount"}
	commaNotes = []string{`"promo BOGO, 2nd at 50%"`, `"festive sale, extra 10%"`, `"home delivery, paid"`, `"exchange, no refund"`}
	quoteNotes = []string{`"size ""XL"", exchanged"`, `"said ""thanks"""`, `"gift wrap ""red"""`}
	cities     = []string{"Bengaluru", "Mumbai", "Delhi", "Chennai", "Singapore", "Dubai", "Jakarta", "Manila"}
	sources    = []string{"INSTORE", "INSTORE", "ECOMMERCE", "MOBILE_APP"}
	lowerFirst = func() []string {
		out := make([]string, len(firstNames))
		for i, n := range firstNames {
			b := []byte(n)
			b[0] += 'a' - 'A'
			out[i] = string(b)
		}
		return out
	}()
	// dates2025 holds "2025-MM-DD" for every day of the year.
	dates2025 = func() []string {
		days := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
		var out []string
		for m, n := range days {
			for d := 1; d <= n; d++ {
				out = append(out, fmt.Sprintf("2025-%02d-%02d", m+1, d))
			}
		}
		return out
	}()
)

// Transactions generates transaction rows.
type Transactions struct {
	rng *rand.Rand
	n   int
}

// NewTransactions returns a generator for seed.
func NewTransactions(seed uint64) *Transactions {
	return &Transactions{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

func appendDigits(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for w := 0; w < width || v > 0; w++ {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[i:]...)
}

func appendMoney(dst []byte, cents int64) []byte {
	dst = strconv.AppendInt(dst, cents/100, 10)
	dst = append(dst, '.')
	return appendDigits(dst, uint64(cents%100), 2)
}

func appendTime(dst []byte, r *rand.Rand) []byte {
	s := r.IntN(86400)
	dst = appendDigits(dst, uint64(s/3600), 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, uint64(s/60%60), 2)
	dst = append(dst, ':')
	return appendDigits(dst, uint64(s%60), 2)
}

// AppendRow appends the next row (with its newline) to dst.
func (g *Transactions) AppendRow(dst []byte) []byte {
	r := g.rng
	dst = append(dst, "BN"...)
	dst = appendDigits(dst, uint64(10000000+g.n), 8)
	g.n++
	dst = append(dst, ',')
	dst = append(dst, dates2025[r.IntN(len(dates2025))]...)
	dst = append(dst, ' ')
	dst = appendTime(dst, r)
	dst = append(dst, ",ST"...)
	dst = appendDigits(dst, uint64(1000+r.IntN(1000)), 4)
	dst = append(dst, ",91"...)
	dst = appendDigits(dst, uint64(7000000000+r.Int64N(3000000000)), 10)
	dst = append(dst, ",EX"...)
	dst = appendDigits(dst, uint64(r.IntN(10000000)), 7)
	fi := r.IntN(len(firstNames))
	dst = append(dst, ',')
	dst = append(dst, firstNames[fi]...)
	dst = append(dst, ',')
	dst = append(dst, lastNames[r.IntN(len(lastNames))]...)
	dst = append(dst, ',')
	dst = append(dst, lowerFirst[fi]...)
	dst = strconv.AppendInt(dst, int64(r.IntN(1000)), 10)
	dst = append(dst, '@')
	dst = append(dst, domains[r.IntN(len(domains))]...)
	amount := 10000 + r.Int64N(990000)
	var discount int64
	if r.IntN(10) < 4 {
		discount = r.Int64N(amount / 20)
	}
	dst = append(dst, ',')
	dst = appendMoney(dst, amount)
	dst = append(dst, ',')
	dst = appendMoney(dst, discount)
	dst = append(dst, ',')
	dst = appendMoney(dst, amount-discount)
	dst = append(dst, ',')
	dst = append(dst, payModes[r.IntN(len(payModes))]...)
	switch s := r.IntN(100); {
	case s < 70:
		dst = append(dst, ",paid,"...)
	case s < 90:
		dst = append(dst, ",not paid,"...)
	default:
		dst = append(dst, ",cancelled,"...)
	}
	dst = strconv.AppendInt(dst, int64(1+r.IntN(25)), 10)
	dst = append(dst, ',')
	switch n := r.IntN(100); {
	case n < 1:
		dst = append(dst, quoteNotes[r.IntN(len(quoteNotes))]...)
	case n < 6:
		dst = append(dst, commaNotes[r.IntN(len(commaNotes))]...)
	case n < 48:
		dst = append(dst, plainNotes[r.IntN(len(plainNotes))]...)
	}
	return append(dst, '\n')
}

// WriteTransactions writes the header and rows transaction rows to w and
// returns the bytes written.
func WriteTransactions(w io.Writer, rows int, seed uint64) (int64, error) {
	g := NewTransactions(seed)
	return write(w, TransactionHeader, rows, g.AppendRow)
}

func write(w io.Writer, header string, rows int, row func([]byte) []byte) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var total int64
	buf := make([]byte, 0, 64<<10)
	buf = append(append(buf, header...), '\n')
	for i := 0; i < rows; i++ {
		buf = row(buf)
		if len(buf) > 60<<10 {
			n, err := bw.Write(buf)
			total += int64(n)
			if err != nil {
				return total, fmt.Errorf("gen: write: %w", err)
			}
			buf = buf[:0]
		}
	}
	n, err := bw.Write(buf)
	total += int64(n)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return total, fmt.Errorf("gen: write: %w", err)
	}
	return total, nil
}

// Customers generates customer rows.
type Customers struct {
	rng *rand.Rand
	n   int
}

// NewCustomers returns a generator for seed.
func NewCustomers(seed uint64) *Customers {
	return &Customers{rng: rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))}
}

// AppendRow appends the next customer row (with its newline) to dst.
func (g *Customers) AppendRow(dst []byte) []byte {
	r := g.rng
	fi := r.IntN(len(firstNames))
	dst = append(dst, firstNames[fi]...)
	dst = append(dst, ',')
	dst = append(dst, lastNames[r.IntN(len(lastNames))]...)
	dst = append(dst, ",91"...)
	dst = appendDigits(dst, uint64(7000000000+r.Int64N(3000000000)), 10)
	dst = append(dst, ',')
	dst = append(dst, lowerFirst[fi]...)
	dst = strconv.AppendInt(dst, int64(g.n), 10)
	dst = append(dst, '@')
	dst = append(dst, domains[r.IntN(len(domains))]...)
	if r.IntN(2) == 0 {
		dst = append(dst, ",F,"...)
	} else {
		dst = append(dst, ",M,"...)
	}
	dst = append(dst, cities[r.IntN(len(cities))]...)
	dst = append(dst, ',')
	dst = append(dst, dates2025[r.IntN(len(dates2025))]...)
	dst = append(dst, ',')
	dst = append(dst, sources[r.IntN(len(sources))]...)
	dst = append(dst, ",loyalty,mobile,CU"...)
	dst = appendDigits(dst, uint64(g.n), 8)
	g.n++
	return append(dst, '\n')
}

// WriteCustomers writes the header and rows customer rows to w.
func WriteCustomers(w io.Writer, rows int, seed uint64) (int64, error) {
	g := NewCustomers(seed)
	return write(w, CustomerHeader, rows, g.AppendRow)
}
