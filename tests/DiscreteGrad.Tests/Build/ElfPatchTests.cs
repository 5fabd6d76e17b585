using System.Text;
using DiscreteGrad.Build;

namespace DiscreteGrad.Tests.Build;

/// <summary>The libstdc++ compatibility step's ELF edit, on synthetic ELF files and on a copy of the real library.</summary>
public sealed class ElfPatchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-elf-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>
    /// A minimal ELF64 LE shared object: header, .dynstr, .gnu.version_r with two needs (libm.so.6: GLIBC_2.2.5;
    /// libstdc++.so.6: GLIBCXX_3.4.30 and GLIBCXX_3.4.32), .shstrtab, section headers.
    /// </summary>
    internal static byte[] SyntheticElf(ushort flags32 = 0)
    {
        var dynstr = new List<byte> { 0 };
        int Str(string s) { int o = dynstr.Count; dynstr.AddRange(Encoding.ASCII.GetBytes(s)); dynstr.Add(0); return o; }
        int libm = Str("libm.so.6"), glibc = Str("GLIBC_2.2.5"), cxx = Str("libstdc++.so.6"), v30 = Str("GLIBCXX_3.4.30"), v32 = Str("GLIBCXX_3.4.32");
        var vr = new List<byte>();
        void U16(int v) { vr.Add((byte)v); vr.Add((byte)(v >> 8)); }
        void U32(int v) { U16(v & 0xffff); U16(v >> 16); }
        // Verneed 1 (libm): version, cnt, file, aux = 16, next = 32
        U16(1); U16(1); U32(libm); U32(16); U32(32);
        U32(0x1111); U16(0); U16(2); U32(glibc); U32(0);
        // Verneed 2 (libstdc++): two aux
        U16(1); U16(2); U32(cxx); U32(16); U32(0);
        U32(0x2222); U16(0); U16(3); U32(v30); U32(16);
        U32(0x3333); U16(flags32); U16(4); U32(v32); U32(0);
        var shstr = Encoding.ASCII.GetBytes("\0.dynstr\0.gnu.version_r\0.shstrtab\0");
        int offDynstr = 64, offVr = offDynstr + dynstr.Count, offShstr = offVr + vr.Count, offSh = (offShstr + shstr.Length + 7) / 8 * 8;
        var f = new byte[offSh + 4 * 64];
        Encoding.ASCII.GetBytes("\x7f" + "ELF").CopyTo(f, 0);
        f[4] = 2; f[5] = 1; f[6] = 1;
        BitConverter.GetBytes((ushort)3).CopyTo(f, 16);          // ET_DYN
        BitConverter.GetBytes((ushort)62).CopyTo(f, 18);         // EM_X86_64
        BitConverter.GetBytes((ulong)offSh).CopyTo(f, 0x28);
        BitConverter.GetBytes((ushort)64).CopyTo(f, 0x34);
        BitConverter.GetBytes((ushort)64).CopyTo(f, 0x3A);
        BitConverter.GetBytes((ushort)4).CopyTo(f, 0x3C);
        BitConverter.GetBytes((ushort)3).CopyTo(f, 0x3E);
        dynstr.ToArray().CopyTo(f, offDynstr);
        vr.ToArray().CopyTo(f, offVr);
        shstr.CopyTo(f, offShstr);
        void Sh(int i, int name, uint type, int off, int size, uint link, uint info)
        {
            int h = offSh + i * 64;
            BitConverter.GetBytes(name).CopyTo(f, h);
            BitConverter.GetBytes(type).CopyTo(f, h + 4);
            BitConverter.GetBytes((ulong)off).CopyTo(f, h + 24);
            BitConverter.GetBytes((ulong)size).CopyTo(f, h + 32);
            BitConverter.GetBytes(link).CopyTo(f, h + 40);
            BitConverter.GetBytes(info).CopyTo(f, h + 44);
        }
        Sh(1, 1, 3, offDynstr, dynstr.Count, 0, 0);              // .dynstr (SHT_STRTAB)
        Sh(2, 9, 0x6ffffffe, offVr, vr.Count, 1, 2);             // .gnu.version_r, link .dynstr, 2 entries
        Sh(3, 24, 3, offShstr, shstr.Length, 0, 0);              // .shstrtab
        return f;
    }

    private string Write(byte[] bytes, string name = "lib.so")
    {
        string p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Fact]
    public void Marks_exactly_the_named_need_weak_and_nothing_else()
    {
        var original = SyntheticElf();
        string p = Write(original);
        Assert.Equal(0, ElfVersionNeed.ReadNeedFlags(p, "libstdc++.so.6", "GLIBCXX_3.4.32"));
        Assert.Equal(ElfPatchResult.Patched, ElfVersionNeed.MarkWeak(p, "libstdc++.so.6", "GLIBCXX_3.4.32"));
        var patched = File.ReadAllBytes(p);
        var diffs = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();
        Assert.Single(diffs);
        Assert.Equal(ElfVersionNeed.VerFlagWeak, ElfVersionNeed.ReadNeedFlags(p, "libstdc++.so.6", "GLIBCXX_3.4.32"));
        Assert.Equal(0, ElfVersionNeed.ReadNeedFlags(p, "libstdc++.so.6", "GLIBCXX_3.4.30"));
        Assert.Equal(0, ElfVersionNeed.ReadNeedFlags(p, "libm.so.6", "GLIBC_2.2.5"));
    }

    [Fact]
    public void Is_idempotent()
    {
        string p = Write(SyntheticElf());
        ElfVersionNeed.MarkWeak(p, "libstdc++.so.6", "GLIBCXX_3.4.32");
        var once = File.ReadAllBytes(p);
        var stamp = File.GetLastWriteTimeUtc(p);
        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionNeed.MarkWeak(p, "libstdc++.so.6", "GLIBCXX_3.4.32"));
        Assert.Equal(once, File.ReadAllBytes(p));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(p));
    }

    [Fact]
    public void Keeps_other_flag_bits()
    {
        string p = Write(SyntheticElf(flags32: 0x1));
        ElfVersionNeed.MarkWeak(p, "libstdc++.so.6", "GLIBCXX_3.4.32");
        Assert.Equal(0x3, ElfVersionNeed.ReadNeedFlags(p, "libstdc++.so.6", "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Fails_clearly_on_an_unexpected_layout()
    {
        var notElf = SyntheticElf(); notElf[1] = (byte)'X';
        Assert.Contains("bad magic", Assert.Throws<InvalidDataException>(() => ElfVersionNeed.MarkWeak(Write(notElf, "a"), "libstdc++.so.6", "GLIBCXX_3.4.32")).Message);
        var elf32 = SyntheticElf(); elf32[4] = 1;
        Assert.Contains("64-bit", Assert.Throws<InvalidDataException>(() => ElfVersionNeed.MarkWeak(Write(elf32, "b"), "libstdc++.so.6", "GLIBCXX_3.4.32")).Message);
        Assert.Contains("no need for GLIBCXX_3.4.99", Assert.Throws<InvalidDataException>(
            () => ElfVersionNeed.MarkWeak(Write(SyntheticElf(), "c"), "libstdc++.so.6", "GLIBCXX_3.4.99")).Message);
        Assert.Contains("names no dependency", Assert.Throws<InvalidDataException>(
            () => ElfVersionNeed.MarkWeak(Write(SyntheticElf(), "d"), "libfoo.so", "GLIBCXX_3.4.32")).Message);
        var truncated = SyntheticElf()[..200];
        Assert.Throws<InvalidDataException>(() => ElfVersionNeed.MarkWeak(Write(truncated, "e"), "libstdc++.so.6", "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Real_library_copy_gets_the_weak_need_and_the_system_libstdcxx_is_read()
    {
        string lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(lib), $"{lib} is missing: the test project must copy TorchSharp's native library");
        string sys = SystemLibStdCxx.Locate() ?? throw new InvalidOperationException("no libstdc++.so.6 found on this machine");
        Assert.True(ElfVersionNeed.DefinesVersion(sys, "GLIBCXX_3.4"));
        Assert.False(ElfVersionNeed.DefinesVersion(sys, "GLIBCXX_9.9.99"));
        // The build step ran on this output: where the system lacks the version, the need must already be WEAK.
        if (!ElfVersionNeed.DefinesVersion(sys, "GLIBCXX_3.4.32"))
            Assert.Equal(ElfVersionNeed.VerFlagWeak, ElfVersionNeed.ReadNeedFlags(lib, "libstdc++.so.6", "GLIBCXX_3.4.32") & ElfVersionNeed.VerFlagWeak);
        string copy = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(lib, copy);
        var before = File.ReadAllBytes(copy);
        ElfVersionNeed.MarkWeak(copy, "libstdc++.so.6", "GLIBCXX_3.4.32");
        var after = File.ReadAllBytes(copy);
        Assert.True(Enumerable.Range(0, before.Length).Count(i => before[i] != after[i]) <= 1);
        Assert.Equal(ElfVersionNeed.VerFlagWeak, ElfVersionNeed.ReadNeedFlags(copy, "libstdc++.so.6", "GLIBCXX_3.4.32") & ElfVersionNeed.VerFlagWeak);
        Assert.Equal(0, ElfVersionNeed.ReadNeedFlags(copy, "libstdc++.so.6", "GLIBCXX_3.4.30") & ElfVersionNeed.VerFlagWeak);
    }
}
