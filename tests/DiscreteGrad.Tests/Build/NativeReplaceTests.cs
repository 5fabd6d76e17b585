using System.IO.MemoryMappedFiles;
using DiscreteGrad.Build;

namespace DiscreteGrad.Tests.Build;

/// <summary>
/// The compatibility step never writes into a native library another process may have mapped: an already patched (or
/// identical) file is left alone, anything else is replaced by rename, so an existing mapping keeps the old bytes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // Unix file modes, inodes; the native step is Linux-only
public sealed class NativeReplaceTests : IDisposable
{
    private const string Lib = "libstdc++.so.6", Ver = "GLIBCXX_3.4.32";
    private static readonly DateTime Old = new(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
    private static readonly UnixFileMode Mode0744 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-native-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(byte[] bytes, string name)
    {
        string p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, bytes);
        File.SetUnixFileMode(p, Mode0744);
        File.SetLastWriteTimeUtc(p, Old); // an old mtime, so "unchanged" cannot pass by timestamp granularity
        return p;
    }

    /// <summary>Maps the whole file read-only, as the dynamic loader maps a library, and reads it back through the mapping.</summary>
    private sealed class Mapping : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly int _length;

        public Mapping(string path)
        {
            _length = (int)new FileInfo(path).Length;
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _file.CreateViewAccessor(0, _length, MemoryMappedFileAccess.Read);
        }

        public byte[] Read()
        {
            var bytes = new byte[_length];
            _view.ReadArray(0, bytes, 0, _length);
            return bytes;
        }

        public void Dispose() { _view.Dispose(); _file.Dispose(); }
    }

    private static string[] FilesIn(string dir) => Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();

    private string[] FilesInDir() => FilesIn(_dir);

    [Fact]
    public void The_mapping_check_sees_an_in_place_write()
    {
        // Control for the tests below: writing into the mapped file (what the step used to do) shows through the mapping.
        var original = ElfPatchTests.SyntheticElf();
        string p = Write(original, "control.so");
        using var map = new Mapping(p);
        using (var fs = new FileStream(p, FileMode.Open, FileAccess.Write)) { fs.Seek(100, SeekOrigin.Begin); fs.WriteByte((byte)(original[100] ^ 0xff)); }
        Assert.NotEqual(original, map.Read());
    }

    [Fact]
    public void Patching_a_patched_file_does_not_write_it()
    {
        string p = Write(ElfPatchTests.SyntheticElf(flags32: ElfVersionNeed.VerFlagWeak), "lib.so");
        var bytes = File.ReadAllBytes(p);
        var before = FileIdentity.Of(p);
        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionNeed.MarkWeak(p, Lib, Ver));
        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionNeed.MarkWeak(p, Lib, Ver));
        Assert.Equal(before, FileIdentity.Of(p)); // same inode, same mtime, same length
        Assert.Equal(Old, before.LastWriteUtc);
        Assert.Equal(bytes, File.ReadAllBytes(p));
        Assert.Equal(new[] { "lib.so" }, FilesInDir());
    }

    [Fact]
    public void Patching_replaces_the_file_by_rename_and_a_holder_of_the_old_file_keeps_it_whole()
    {
        var original = ElfPatchTests.SyntheticElf();
        string p = Write(original, "lib.so");
        var before = FileIdentity.Of(p);
        using var map = new Mapping(p);
        using var held = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        Assert.Equal(ElfPatchResult.Patched, ElfVersionNeed.MarkWeak(p, Lib, Ver));

        var after = FileIdentity.Of(p);
        Assert.NotEqual(before.Inode, after.Inode);
        Assert.Equal(ElfVersionNeed.VerFlagWeak, ElfVersionNeed.ReadNeedFlags(p, Lib, Ver));
        Assert.Equal(1, Enumerable.Range(0, original.Length).Count(i => original[i] != File.ReadAllBytes(p)[i]));
        Assert.Equal(original, map.Read());                       // the mapping still reads the complete old file
        var viaHandle = new byte[original.Length + 1];
        Assert.Equal(original.Length, held.ReadAtLeast(viaHandle, viaHandle.Length, throwOnEndOfStream: false));
        Assert.Equal(original, viaHandle[..original.Length]);    // so does an open handle, to its old end
        Assert.Equal(Mode0744, File.GetUnixFileMode(p));          // permission bits carried over
        Assert.Equal(new[] { "lib.so" }, FilesInDir());           // no temporary file left behind

        // And again: now it is patched, so it is not touched.
        var patched = FileIdentity.Of(p);
        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionNeed.MarkWeak(p, Lib, Ver));
        Assert.Equal(patched, FileIdentity.Of(p));
    }

    [Fact]
    public void Copy_creates_a_missing_destination_patched_and_then_leaves_it_alone()
    {
        var original = ElfPatchTests.SyntheticElf();
        string src = Write(original, "src.so"), dst = Path.Combine(_dir, "out", "dst.so");

        Assert.Equal(NativeCopyResult.Written, NativeLibraryCopy.Copy(src, dst, Lib, Ver, markWeak: true));
        Assert.Equal(original, File.ReadAllBytes(src));           // the package's file is never modified
        Assert.Equal(ElfVersionNeed.VerFlagWeak, ElfVersionNeed.ReadNeedFlags(dst, Lib, Ver));
        var once = File.ReadAllBytes(dst);
        Assert.Equal(1, Enumerable.Range(0, original.Length).Count(i => original[i] != once[i]));
        Assert.Equal(Mode0744, File.GetUnixFileMode(dst));
        Assert.Equal(new[] { "dst.so" }, FilesIn(Path.GetDirectoryName(dst)!));

        File.SetLastWriteTimeUtc(dst, Old);
        var before = FileIdentity.Of(dst);
        for (int i = 0; i < 3; i++)
            Assert.Equal(NativeCopyResult.UpToDate, NativeLibraryCopy.Copy(src, dst, Lib, Ver, markWeak: true));
        Assert.Equal(before, FileIdentity.Of(dst));
        Assert.Equal(once, File.ReadAllBytes(dst));
    }

    [Fact]
    public void Copy_replaces_a_stale_destination_by_rename_while_it_is_mapped()
    {
        // The destination holds the unpatched library (as the stock Copy left it) and a process has it mapped.
        var original = ElfPatchTests.SyntheticElf();
        string src = Write(original, "src.so"), dst = Write(original, "dst.so");
        var before = FileIdentity.Of(dst);
        using var map = new Mapping(dst);

        Assert.Equal(NativeCopyResult.Written, NativeLibraryCopy.Copy(src, dst, Lib, Ver, markWeak: true));

        Assert.NotEqual(before.Inode, FileIdentity.Of(dst).Inode);
        Assert.Equal(ElfVersionNeed.VerFlagWeak, ElfVersionNeed.ReadNeedFlags(dst, Lib, Ver));
        Assert.Equal(original, map.Read());
        Assert.Equal(new[] { "dst.so", "src.so" }, FilesInDir());
    }

    [Fact]
    public void Copy_replaces_a_destination_that_is_patched_but_from_another_version_of_the_library()
    {
        // Already WEAK is not enough to skip: after a package update the bytes differ elsewhere.
        var newer = ElfPatchTests.SyntheticElf();
        newer[^1] ^= 0x5a;                                        // a byte outside everything the patch reads
        string src = Write(newer, "src.so"), dst = Write(ElfPatchTests.SyntheticElf(flags32: ElfVersionNeed.VerFlagWeak), "dst.so");
        var before = FileIdentity.Of(dst);

        Assert.Equal(NativeCopyResult.Written, NativeLibraryCopy.Copy(src, dst, Lib, Ver, markWeak: true));

        Assert.NotEqual(before.Inode, FileIdentity.Of(dst).Inode);
        var expected = (byte[])newer.Clone();
        Assert.True(ElfVersionNeed.SetWeak(expected, src, Lib, Ver));
        Assert.Equal(expected, File.ReadAllBytes(dst));
    }

    [Fact]
    public void Copy_without_marking_copies_the_bytes_unchanged()
    {
        // Machines whose libstdc++ defines the version get the library exactly as packaged, by the same safe path.
        var original = ElfPatchTests.SyntheticElf();
        string src = Write(original, "src.so"), dst = Path.Combine(_dir, "dst.so");
        Assert.Equal(NativeCopyResult.Written, NativeLibraryCopy.Copy(src, dst, Lib, Ver, markWeak: false));
        Assert.Equal(original, File.ReadAllBytes(dst));
        var before = FileIdentity.Of(dst);
        Assert.Equal(NativeCopyResult.UpToDate, NativeLibraryCopy.Copy(src, dst, Lib, Ver, markWeak: false));
        Assert.Equal(before, FileIdentity.Of(dst));
    }

    [Fact]
    public void Copy_of_a_file_that_is_not_the_expected_elf_fails_and_leaves_the_destination()
    {
        var bad = ElfPatchTests.SyntheticElf(); bad[1] = (byte)'X';
        string src = Write(bad, "src.so"), dst = Write(ElfPatchTests.SyntheticElf(), "dst.so");
        var before = FileIdentity.Of(dst);
        Assert.Contains("bad magic", Assert.Throws<InvalidDataException>(() => NativeLibraryCopy.Copy(src, dst, Lib, Ver, markWeak: true)).Message);
        Assert.Equal(before, FileIdentity.Of(dst));
        Assert.Equal(new[] { "dst.so", "src.so" }, FilesInDir());
    }
}
