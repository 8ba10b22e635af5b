"""The demo of Partner Smart Office: the product and the emulator, end to end, on embedded defaults."""
