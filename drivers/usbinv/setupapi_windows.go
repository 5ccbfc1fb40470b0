package usbinv

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// SetupAPI lists USB devices through Windows' SetupAPI, passively: only the
// device tree is read, nothing is sent to a device.
type SetupAPI struct{}

func init() {
	registerBackend("setupapi", func(string) Lister { return SetupAPI{} })
}

// List reads the present USB and HID device nodes.
func (SetupAPI) List(ctx context.Context) ([]Device, error) {
	usb, err := enumerateNodes("USB")
	if err != nil {
		return nil, fmt.Errorf("setupapi USB: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hid, err := enumerateNodes("HID")
	if err != nil {
		// Without HID nodes the devices are still listed; only the HID
		// usages (the mode of a scanner) are missing.
		hid = nil
	}
	return assembleWindows(usb, hid), nil
}

func enumerateNodes(enumerator string) ([]winNode, error) {
	set, err := windows.SetupDiGetClassDevsEx(nil, enumerator, 0, windows.DIGCF_ALLCLASSES|windows.DIGCF_PRESENT, 0, "")
	if err != nil {
		return nil, err
	}
	defer set.Close()
	var out []winNode
	for i := 0; ; i++ {
		data, err := set.EnumDeviceInfo(i)
		if errors.Is(err, windows.ERROR_NO_MORE_ITEMS) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		id, err := set.DeviceInstanceID(data)
		if err != nil {
			continue
		}
		out = append(out, winNode{
			InstanceID:   id,
			Manufacturer: stringProp(set, data, windows.SPDRP_MFG),
			Description:  stringProp(set, data, windows.SPDRP_DEVICEDESC),
			HardwareIDs:  listProp(set, data, windows.SPDRP_HARDWAREID),
			CompatIDs:    listProp(set, data, windows.SPDRP_COMPATIBLEIDS),
			Service:      stringProp(set, data, windows.SPDRP_SERVICE),
		})
	}
}

func stringProp(set windows.DevInfo, data *windows.DevInfoData, p windows.SPDRP) string {
	v, err := set.DeviceRegistryProperty(data, p)
	if err != nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

func listProp(set windows.DevInfo, data *windows.DevInfoData, p windows.SPDRP) []string {
	v, err := set.DeviceRegistryProperty(data, p)
	if err != nil {
		return nil
	}
	switch x := v.(type) {
	case []string:
		return x
	case string:
		return []string{x}
	}
	return nil
}
