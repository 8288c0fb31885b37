"""A local emulator of The Grid with named fault scenarios (stdlib only, loopback only).

Import from the submodules: `gridctl.emulator.scenarios` is cheap (for `emulator list`),
`gridctl.emulator.server` pulls in http.server. This package file stays empty on purpose.
"""
