#!/usr/bin/env python3
"""Mark one version requirement of an ELF64 shared library as weak.

Why: TorchSharp 0.107.0's libLibTorchSharp.so was linked against GCC 13's libstdc++ and so
requires the symbol version GLIBCXX_3.4.32. Debian 12 ships libstdc++ up to GLIBCXX_3.4.30, so
the dynamic loader refuses the library ("version `GLIBCXX_3.4.32' not found") and TorchSharp
reports a misleading "doesn't contain a reference to libtorch-cpu-linux-x64".

Exactly one symbol carries that version, _ZSt21ios_base_library_initv: a link-time marker
that GCC 13 emits so the library pulls in the iostream initialisation; no relocation uses it
(check with `objdump -T` and `readelf -r`). When a version need is flagged VER_FLG_WEAK in
.gnu.version_r, glibc's loader only notes a missing version instead of failing, so the library
loads and runs with Debian 12's libstdc++.

Usage: weaken_verneed.py FILE [VERSION]     (VERSION defaults to GLIBCXX_3.4.32)

The change is idempotent. The file is rewritten through a temporary file and an atomic rename,
so a hard link to the NuGet cache is broken rather than followed: the cache is never changed.
Only the standard library is used, so any build machine with Python 3 can run it.
"""

import os
import struct
import sys
import tempfile

SHT_GNU_VERNEED = 0x6FFFFFFE  # section type of .gnu.version_r
VER_FLG_WEAK = 0x2            # "this version need may be missing" (elf.h)

# ELF64 layouts, little-endian (x86-64). Field names follow elf.h.
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr, 64 bytes
SHDR = struct.Struct("<IIQQQQIIQQ")        # Elf64_Shdr, 64 bytes
VERNEED = struct.Struct("<HHIII")          # Elf64_Verneed: version, cnt, file, aux, next
VERNAUX = struct.Struct("<IHHII")          # Elf64_Vernaux: hash, flags, other, name, next
VNA_FLAGS_OFFSET = 4                       # byte offset of vna_flags inside Elf64_Vernaux


def fail(message):
    print(f"weaken_verneed: {message}", file=sys.stderr)
    sys.exit(1)


def c_string(data, offset):
    end = data.index(b"\0", offset)
    return data[offset:end].decode("ascii", "replace")


def section_headers(data):
    """Yields (index, sh_type, sh_offset, sh_size, sh_link, sh_info) for every section."""
    if data[:4] != b"\x7fELF":
        fail("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        fail("only ELF64 little-endian files are supported")
    fields = EHDR.unpack_from(data, 0)
    e_shoff, e_shentsize, e_shnum = fields[6], fields[11], fields[12]
    if e_shoff == 0 or e_shentsize != SHDR.size:
        fail("the file has no usable section header table")
    if e_shnum == 0:
        # More than 0xff00 sections: the real count sits in section 0's sh_size.
        e_shnum = SHDR.unpack_from(data, e_shoff)[5]
    for index in range(e_shnum):
        sh = SHDR.unpack_from(data, e_shoff + index * e_shentsize)
        yield index, sh[1], sh[4], sh[5], sh[6], sh[7]


def find_aux(data, version):
    """Returns (file needed, offset of the Vernaux record) for the version, or None."""
    headers = list(section_headers(data))
    for _, sh_type, sh_offset, _, sh_link, sh_info in headers:
        if sh_type != SHT_GNU_VERNEED:
            continue
        # sh_link points at the string table (.dynstr) that names files and versions;
        # sh_info is the number of Verneed entries, which form a chain through vn_next.
        strtab_offset = headers[sh_link][2]
        entry = sh_offset
        for _ in range(sh_info):
            _, vn_cnt, vn_file, vn_aux, vn_next = VERNEED.unpack_from(data, entry)
            aux = entry + vn_aux
            for _ in range(vn_cnt):
                _, _, _, vna_name, vna_next = VERNAUX.unpack_from(data, aux)
                if c_string(data, strtab_offset + vna_name) == version:
                    return c_string(data, strtab_offset + vn_file), aux
                aux += vna_next
            entry += vn_next
        return None
    fail("the file has no .gnu.version_r (SHT_GNU_verneed) section")
    return None


def rewrite(path, data):
    """Replaces the file atomically, keeping its mode, and never writing through a hard link."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".weaken-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temp, os.stat(path).st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def main(argv):
    if len(argv) not in (2, 3):
        fail("usage: weaken_verneed.py FILE [VERSION]")
    path = argv[1]
    version = argv[2] if len(argv) == 3 else "GLIBCXX_3.4.32"
    with open(path, "rb") as f:
        data = bytearray(f.read())

    found = find_aux(data, version)
    if found is None:
        print(f"weaken_verneed: {path} does not need {version}; nothing to do")
        return 0
    needed_file, aux = found
    flags = struct.unpack_from("<H", data, aux + VNA_FLAGS_OFFSET)[0]
    if flags & VER_FLG_WEAK:
        print(f"weaken_verneed: {path}: {version} (from {needed_file}) is already weak; nothing to do")
        return 0

    struct.pack_into("<H", data, aux + VNA_FLAGS_OFFSET, flags | VER_FLG_WEAK)
    rewrite(path, data)
    print(f"weaken_verneed: {path}: marked {version} (from {needed_file}) weak at offset 0x{aux:x}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
