#!/usr/bin/env python3
"""make_seeds.py: writes the checked-in seeds of fuzz/corpus/elf/.

Small ELF64 x86-64 shared objects shaped like converted patch modules
(docs/patch-format.md), dense in what the readers walk: .modinfo,
.uklp.targets, .uklp.klp_syms, uklp_param with its .rela.dyn entry,
.dynsym/.dynstr/.dynamic (DT_SONAME), a build-id note in a section and a
PT_NOTE segment, .gnu_debuglink, .symtab with .klp.sym.* symbols
(SHN_LIVEPATCH) and a .klp.rela.* section (SHF_RELA_LIVEPATCH) whose
entries land in a PT_LOAD segment. A few variants change one thing each;
module-linked.so is the module as linked, before uklp-klp-convert, whose
.symtab defines what its .rela.dyn needs (the fuzzer uses the input as its
own target); module-bigalign.so is it with an absurd .symtab alignment,
which made uklp-klp-convert pad its output without bound (fixed in
tools/klp-convert/output.cc, lay_out).
Run it again after a format change: python3 fuzz/make_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "elf")

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_DYNAMIC, SHT_NOTE, SHT_DYNSYM = 1, 2, 3, 4, 6, 7, 11
SHF_WRITE, SHF_ALLOC, SHF_RELA_LIVEPATCH = 1, 2, 0x00100000
SHN_LIVEPATCH = 0xFF20
PT_LOAD, PT_NOTE = 1, 4
R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_RELATIVE = 1, 6, 8
DT_NULL, DT_SONAME = 0, 14
STT_FUNC, STT_OBJECT, STB_GLOBAL, STB_WEAK = 2, 1, 1, 2


class Strtab:
    def __init__(self):
        self.data = b"\0"

    def add(self, s):
        off = len(self.data)
        self.data += s.encode() + b"\0"
        return off


def sym(name, info, shndx, value=0, size=0):
    return struct.pack("<IBBHQQ", name, info, 0, shndx, value, size)


def rela(offset, symidx, rtype, addend=0):
    return struct.pack("<QQq", offset, (symidx << 32) | rtype, addend)


def note_build_id(desc):
    return struct.pack("<III", 4, len(desc), 3) + b"GNU\0" + desc


def build(variant=""):
    base = 0x1000  # everything allocated is mapped at file offset = vaddr - base... kept simple below
    sections = []  # (name, type, flags, data, link, info, align, entsize)

    dynstr = Strtab()
    soname = dynstr.add("livepatch-seed.so")
    weak = dynstr.add("__gmon_start__")
    helper = dynstr.add("helper")
    dynsym = sym(0, 0, 0) + sym(weak, (STB_WEAK << 4) | 0, 0) + sym(helper, (STB_GLOBAL << 4) | STT_FUNC, 0)

    strtab = Strtab()
    klp_names = [".klp.sym.main.helper,0", ".klp.sym.libdemo%2Eso%2E1.counter,2", ".klp.sym.main.foo.isra.0,1"]
    if variant == "badnames":
        klp_names = [".klp.sym.main.helper", ".klp.sym.%zz.x,1", ".klp.sym..,"]
    symtab = sym(0, 0, 0)
    for n in klp_names:
        if variant in ("linked", "bigalign"):  # as linked: the target's own definitions, not klp symbols
            symtab += sym(strtab.add(n.split(".")[-1].split(",")[0]), STT_FUNC, 9, 0x1100, 16)
        else:
            symtab += sym(strtab.add(n), (STB_GLOBAL << 4) | STT_FUNC, SHN_LIVEPATCH)
    symtab += sym(strtab.add("livepatch_helper"), (STB_GLOBAL << 4) | STT_FUNC, 9, 0x1100, 16)

    modinfo = b"livepatch=Y\0license=GPL\0parm=verbose:print more\0description=seed\0"
    if variant == "nomark":
        modinfo = b"license=GPL\0livepatch=N\0"
    targets = b"main\t0123456789abcdef0123456789abcdef01234567\nlibdemo.so.1\tfedcba9876543210\n"
    if variant == "badtargets":
        targets = b"main\n\t\n \nlibdemo.so.1\t"
    klp_syms = b"helper_alias\tmain\thelper\t2\0counter_alias\tlibdemo.so.1\tcounter\t0\0"
    # struct uklp_param_desc: name pointer (resolved by .rela.dyn), type, perm, arg
    uklp_param = struct.pack("<QiIQ", 0, 6, 0o644, 0x3010)
    dynamic = struct.pack("<qQ", DT_SONAME, soname) + struct.pack("<qQ", DT_NULL, 0)
    debuglink = b"livepatch-seed.debug\0\0\0\0" + struct.pack("<I", 0x12345678)
    note = note_build_id(bytes(range(20)))

    # Layout: allocated sections first at increasing vaddr == file offset.
    allocs = [
        (".note.gnu.build-id", SHT_NOTE, SHF_ALLOC, note, 0, 0, 4, 0),
        (".dynsym", SHT_DYNSYM, SHF_ALLOC, dynsym, "dynstr", 1, 8, 24),
        (".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr.data, 0, 0, 1, 0),
        (".rela.dyn", SHT_RELA, SHF_ALLOC, None, "dynsym", 0, 8, 24),
        (".modinfo", SHT_PROGBITS, SHF_ALLOC, modinfo, 0, 0, 1, 0),
        ("uklp_param", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, uklp_param, 0, 0, 8, 0),
        (".dynamic", SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, dynamic, "dynstr", 0, 8, 16),
        (".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, b"\0" * 24, 0, 0, 8, 0),
        (".rodata", SHT_PROGBITS, SHF_ALLOC, b"verbose\0", 0, 0, 1, 0),
    ]
    others = [
        (".uklp.targets", SHT_PROGBITS, 0, targets, 0, 0, 1, 0),
        (".uklp.klp_syms", SHT_PROGBITS, 0, klp_syms, 0, 0, 1, 0),
        (".gnu_debuglink", SHT_PROGBITS, 0, debuglink, 0, 0, 4, 0),
        (".klp.rela.main.text", SHT_RELA, SHF_RELA_LIVEPATCH | 0x40, None, "symtab", 0, 8, 24),
        (".symtab", SHT_SYMTAB, 0, symtab, "strtab", 1, 0x5C5C5C5C5C5C5C5C if variant == "bigalign" else 8, 24),
        (".strtab", SHT_STRTAB, 0, strtab.data, 0, 0, 1, 0),
    ]
    if variant in ("linked", "bigalign"):  # before uklp-klp-convert: no klp relocations, no targets
        others = [o for o in others if o[0] not in (".uklp.targets", ".uklp.klp_syms", ".klp.rela.main.text")]
    names = [s[0] for s in allocs + others] + [".shstrtab"]
    shstr = Strtab()
    name_off = {n: shstr.add(n) for n in names}

    def place(sections, start):
        out, off = [], start
        for s in sections:
            align = min(s[6], 8)
            off = (off + align - 1) // align * align
            out.append(off)
            off += len(s[3]) if s[3] is not None else 48
        return out, off

    ehdr_size, phdr_size, nph = 64, 56, 3
    start = ehdr_size + phdr_size * nph
    alloc_offs, end_alloc = place(allocs, start)
    addr = dict(zip([s[0] for s in allocs], alloc_offs))
    got = addr[".got"]
    # .rela.dyn: uklp_param's name pointer (RELATIVE) and a GLOB_DAT in .got.
    rela_dyn = rela(addr["uklp_param"], 0, R_X86_64_RELATIVE, addr[".rodata"]) + rela(got, 2, R_X86_64_GLOB_DAT)
    klp_off = got + 8 if variant != "outside" else 0xFFFFFFFFFFFFFFFC
    klp_rela = rela(klp_off, 1, R_X86_64_64) + rela(got + 16, 2, R_X86_64_64, 8)
    allocs[3] = allocs[3][:3] + (rela_dyn,) + allocs[3][4:]
    others = [o[:3] + (klp_rela,) + o[4:] if o[3] is None else o for o in others]
    other_offs, end = place(others + [(".shstrtab", SHT_STRTAB, 0, shstr.data, 0, 0, 1, 0)], end_alloc)
    all_secs = allocs + others + [(".shstrtab", SHT_STRTAB, 0, shstr.data, 0, 0, 1, 0)]
    offs = alloc_offs + other_offs
    index = {s[0].lstrip("."): i + 1 for i, s in enumerate(all_secs)}

    shoff = (end + 7) // 8 * 8
    image = bytearray(shoff + 64 * (len(all_secs) + 1))
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    image[0:64] = ident + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, ehdr_size, shoff, 0, 64, phdr_size, nph,
                                      64, len(all_secs) + 1, len(all_secs))
    note_off = addr[".note.gnu.build-id"]
    load_size = end_alloc
    phdrs = [
        struct.pack("<IIQQQQQQ", PT_LOAD, 6, 0, 0, 0, load_size, load_size, 0x1000),
        struct.pack("<IIQQQQQQ", PT_NOTE, 4, note_off, note_off, note_off, len(note), len(note), 4),
        struct.pack("<IIQQQQQQ", PT_LOAD, 6, 0, 0x10000, 0x10000, 0, 0x100, 0x1000),
    ]
    image[ehdr_size:start] = b"".join(phdrs)
    for s, off in zip(all_secs, offs):
        image[off:off + len(s[3])] = s[3]
    for i, (s, off) in enumerate(zip(all_secs, offs)):
        name, stype, flags, data, link, info, align, entsize = s
        link_idx = index[link] if isinstance(link, str) else link
        vaddr = off if flags & SHF_ALLOC else 0
        hdr = struct.pack("<IIQQQQIIQQ", name_off[name], stype, flags, vaddr, off, len(data), link_idx, info, align,
                          entsize)
        image[shoff + 64 * (i + 1):shoff + 64 * (i + 2)] = hdr
    return bytes(image)


def main():
    os.makedirs(OUT, exist_ok=True)
    for variant in ["", "nomark", "badtargets", "badnames", "outside", "linked", "bigalign"]:
        name = "module" + ("-" + variant if variant else "") + ".so"
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(build(variant))


if __name__ == "__main__":
    main()
