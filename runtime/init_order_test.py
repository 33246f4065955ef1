"""init_order_test.py LIBUKLP: the runtime starts its control thread only
after all its own static initializers have run.

The constructors of a shared object run in the order of .init_array, which
is the link order of its objects. init.cc's constructor (uklp_runtime_init)
starts the control thread, which may serve a load at once; a load that came
before transition.cc's initializer had run crashed the process (it wrote to
a std::string not yet constructed). runtime/CMakeLists.txt links init.cc
last; this test fails if the runtime's own initializers are not all before
it (libstdc++'s, linked after the runtime's objects, are not its own)."""
import re
import struct
import subprocess
import sys


def init_array(lib):
    """The function addresses of .init_array, in order."""
    out = subprocess.run(["readelf", "-W", "-x", ".init_array", lib], capture_output=True, text=True,
                         check=True).stdout
    data = b""
    for line in out.splitlines():
        m = re.match(r"\s*0x[0-9a-f]+ ((?:[0-9a-f]{2,8} ){1,4})", line + " ")
        if m:
            data += bytes.fromhex(m.group(1).replace(" ", ""))
    return [struct.unpack_from("<Q", data, i)[0] for i in range(0, len(data) - 7, 8)]


def symbols(lib):
    """{address: name} of the functions (static ones too)."""
    out = subprocess.run(["nm", lib], capture_output=True, text=True, check=True).stdout
    names = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            names.setdefault(int(parts[0], 16), parts[2])
    return names


def main(lib):
    names = symbols(lib)
    order = [names.get(a, hex(a)) for a in init_array(lib)]
    print("init_array:", ", ".join(order))
    start = [i for i, n in enumerate(order) if "uklp_runtime_init" in n]
    if len(start) != 1:
        print("FAIL: uklp_runtime_init is not in .init_array exactly once")
        return 1
    # The runtime's own: its files' initializers and its named constructors.
    own = [i for i, n in enumerate(order)
           if re.match(r"_GLOBAL__sub_I_(?!eh_alloc|system_error|ios_init|locale)", n) or "uklp2rt" in n]
    late = [order[i] for i in own if i > start[0]]
    if late:
        print("FAIL: run after the control thread starts:", ", ".join(late))
        return 1
    print(f"ok: {len(own)} initializers of the runtime run before uklp_runtime_init")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
