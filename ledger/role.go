package ledger

import "fmt"

// Role is what an alliance member is.
type Role uint8

// Member roles. Numbers are part of the wire format.
const (
	RoleBank        Role = 1
	RoleNotary      Role = 2
	RoleArbitration Role = 3
	RoleCourt       Role = 4
	RoleRegulator   Role = 5
)

var roleNames = [...]string{RoleBank: "bank", RoleNotary: "notary", RoleArbitration: "arbitration", RoleCourt: "court", RoleRegulator: "regulator"}

// String returns the role's name.
func (r Role) String() string {
	if r >= RoleBank && r <= RoleRegulator {
		return roleNames[r]
	}
	return fmt.Sprintf("role_%d", uint8(r))
}

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	for r := RoleBank; r <= RoleRegulator; r++ {
		if roleNames[r] == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q: want bank, notary, arbitration, court or regulator", s)
}

// Valid reports whether r is a defined role.
func (r Role) Valid() bool { return r >= RoleBank && r <= RoleRegulator }

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("invalid role %d", uint8(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
