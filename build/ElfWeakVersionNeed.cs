// Marks one entry of an ELF shared object's version-need table (.gnu.version_r) as WEAK.
//
// Why: libLibTorchSharp.so of TorchSharp 0.107 records a need for GLIBCXX_3.4.32 (GCC 13's libstdc++), while Debian 12
// ships GCC 12's libstdc++ (up to GLIBCXX_3.4.30). The only symbol behind that need is std::ios_base_library_init(),
// which no relocation of the library uses. The dynamic loader refuses a missing *strong* version need but accepts a
// missing *weak* one (VER_FLG_WEAK = 0x2 in vna_flags), so setting that bit makes the library load and work.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory as the task `MarkElfVersionNeedWeak`
// (build/LibTorchCompat.targets), and by the test project (with ELFPATCH_NO_MSBUILD defined) to test the pure logic.
#nullable enable
using System;
using System.IO;
using System.Text;

namespace DiscreteGrad.Build
{
    /// <summary>Outcome of <see cref="ElfVersionNeed.MarkWeak"/>.</summary>
    public enum ElfPatchResult
    {
        /// <summary>The WEAK bit was set by this call.</summary>
        Patched,
        /// <summary>The entry was already WEAK; the file was not written.</summary>
        AlreadyWeak,
    }

    /// <summary>Outcome of <see cref="NativeLibraryCopy.Copy"/>.</summary>
    public enum NativeCopyResult
    {
        /// <summary>The destination was missing or differed; a new file was written and renamed over it.</summary>
        Written,
        /// <summary>The destination already held exactly the wanted bytes; it was not opened for writing.</summary>
        UpToDate,
    }

    /// <summary>Reads and edits the GNU symbol-versioning sections of a 64-bit little-endian ELF file.</summary>
    public static class ElfVersionNeed
    {
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        /// <summary>VER_FLG_WEAK from elf.h.</summary>
        public const ushort VerFlagWeak = 0x2;

        /// <summary>
        /// Sets VER_FLG_WEAK on the version-need entry <paramref name="version"/> required from <paramref name="library"/>.
        /// Idempotent: when the entry is already WEAK the file is not written at all (same inode, same mtime). Otherwise
        /// the patched bytes go to a temporary file in the same folder, which is renamed over <paramref name="path"/>
        /// (<see cref="AtomicFile.Replace"/>): a process that has the old file mapped keeps its complete old copy, and one
        /// that opens the path sees either the old or the new file, never a partly written one. Throws
        /// <see cref="InvalidDataException"/> when the file is not a 64-bit little-endian ELF, has no .gnu.version_r
        /// section, or does not need that version from that library.
        /// </summary>
        public static ElfPatchResult MarkWeak(string path, string library, string version)
        {
            byte[] data = File.ReadAllBytes(path);
            if (!SetWeak(data, path, library, version))
                return ElfPatchResult.AlreadyWeak;
            AtomicFile.Replace(path, data, path);
            return ElfPatchResult.Patched;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on that need in the in-memory image <paramref name="data"/> (read from <paramref name="path"/>,
        /// which names it in errors). Returns false, leaving <paramref name="data"/> unchanged, when it is already WEAK.
        /// </summary>
        public static bool SetWeak(byte[] data, string path, string library, string version)
        {
            long flagsOffset = FindVernauxFlagsOffset(data, path, library, version);
            ushort flags = ReadU16(data, flagsOffset);
            if ((flags & VerFlagWeak) != 0)
                return false;
            ushort newFlags = (ushort)(flags | VerFlagWeak);
            data[flagsOffset] = (byte)(newFlags & 0xff);
            data[flagsOffset + 1] = (byte)(newFlags >> 8);
            return true;
        }

        /// <summary>The vna_flags of the need for <paramref name="version"/> from <paramref name="library"/>.</summary>
        public static ushort ReadNeedFlags(string path, string library, string version)
        {
            byte[] data = File.ReadAllBytes(path);
            return ReadU16(data, FindVernauxFlagsOffset(data, path, library, version));
        }

        /// <summary>True when the ELF file's version-definition table (.gnu.version_d) defines <paramref name="version"/>.</summary>
        public static bool DefinesVersion(string path, string version)
        {
            byte[] data = File.ReadAllBytes(path);
            var sections = ReadSections(data, path);
            foreach (var s in sections)
            {
                if (s.Type != ShtGnuVerdef) continue;
                var strtab = sections[CheckIndex(s.Link, sections.Length, path, "sh_link of .gnu.version_d")];
                long entry = s.Offset;
                for (uint i = 0; i < s.Info; i++)
                {
                    Require(entry + 20 <= data.Length, path, "version definition entry outside the file");
                    ushort cnt = ReadU16(data, entry + 6);
                    uint aux = ReadU32(data, entry + 12);
                    uint next = ReadU32(data, entry + 16);
                    if (cnt > 0)
                    {
                        long auxOff = entry + aux;
                        Require(auxOff + 8 <= data.Length, path, "version definition name outside the file");
                        if (ReadString(data, strtab, ReadU32(data, auxOff), path) == version) return true;
                    }
                    if (next == 0) break;
                    entry += next;
                }
            }
            return false;
        }

        private static long FindVernauxFlagsOffset(byte[] data, string path, string library, string version)
        {
            var sections = ReadSections(data, path);
            Section? verneed = null;
            foreach (var s in sections)
                if (s.Type == ShtGnuVerneed) { verneed = s; break; }
            Require(verneed != null, path, "no .gnu.version_r (SHT_GNU_verneed) section");
            var vr = verneed!.Value;
            var strtab = sections[CheckIndex(vr.Link, sections.Length, path, "sh_link of .gnu.version_r")];
            bool sawLibrary = false;
            long entry = vr.Offset;
            for (uint i = 0; i < vr.Info; i++)
            {
                Require(entry + 16 <= vr.Offset + vr.Size && entry + 16 <= data.Length, path, "Verneed entry outside .gnu.version_r");
                ushort vnVersion = ReadU16(data, entry);
                Require(vnVersion == 1, path, $"Verneed vn_version is {vnVersion}, expected 1");
                ushort cnt = ReadU16(data, entry + 2);
                string file = ReadString(data, strtab, ReadU32(data, entry + 4), path);
                uint aux = ReadU32(data, entry + 8);
                uint next = ReadU32(data, entry + 12);
                if (file == library)
                {
                    sawLibrary = true;
                    long auxOff = entry + aux;
                    for (int j = 0; j < cnt; j++)
                    {
                        Require(auxOff + 16 <= data.Length, path, "Vernaux entry outside the file");
                        string name = ReadString(data, strtab, ReadU32(data, auxOff + 8), path);
                        if (name == version) return auxOff + 4; // vna_hash(4) then vna_flags(2)
                        uint auxNext = ReadU32(data, auxOff + 12);
                        if (auxNext == 0) break;
                        auxOff += auxNext;
                    }
                }
                if (next == 0) break;
                entry += next;
            }
            throw new InvalidDataException(sawLibrary
                ? $"{path}: .gnu.version_r has no need for {version} from {library}; the file's layout is not what the libstdc++ compatibility step expects."
                : $"{path}: .gnu.version_r names no dependency on {library}; the file's layout is not what the libstdc++ compatibility step expects.");
        }

        private readonly struct Section
        {
            public Section(uint type, long offset, long size, uint link, uint info)
            { Type = type; Offset = offset; Size = size; Link = link; Info = info; }
            public uint Type { get; }
            public long Offset { get; }
            public long Size { get; }
            public uint Link { get; }
            public uint Info { get; }
        }

        private static Section[] ReadSections(byte[] data, string path)
        {
            Require(data.Length >= 64 && data[0] == 0x7f && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F',
                path, "not an ELF file (bad magic)");
            Require(data[4] == 2, path, "not a 64-bit ELF file (EI_CLASS != ELFCLASS64)");
            Require(data[5] == 1, path, "not a little-endian ELF file (EI_DATA != ELFDATA2LSB)");
            long shoff = (long)ReadU64(data, 0x28);
            ushort shentsize = ReadU16(data, 0x3A);
            ushort shnum = ReadU16(data, 0x3C);
            Require(shentsize == 64, path, $"section header size is {shentsize}, expected 64");
            Require(shnum > 0 && shoff > 0 && shoff + (long)shnum * shentsize <= data.Length, path, "section header table outside the file");
            var result = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                result[i] = new Section(ReadU32(data, h + 4), (long)ReadU64(data, h + 24), (long)ReadU64(data, h + 32),
                    ReadU32(data, h + 40), ReadU32(data, h + 44));
            }
            return result;
        }

        private static int CheckIndex(uint index, int count, string path, string what)
        {
            Require(index < count, path, $"{what} = {index} is not a section index (0..{count - 1})");
            return (int)index;
        }

        private static string ReadString(byte[] data, Section strtab, uint offset, string path)
        {
            long start = strtab.Offset + offset;
            Require(offset < strtab.Size && start < data.Length, path, "string offset outside the string table");
            long end = start;
            while (end < data.Length && data[end] != 0) end++;
            return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
        }

        private static void Require(bool ok, string path, string message)
        {
            if (!ok) throw new InvalidDataException($"{path}: {message}; the file's layout is not what the libstdc++ compatibility step expects.");
        }

        private static ushort ReadU16(byte[] d, long o) => (ushort)(d[o] | (d[o + 1] << 8));
        private static uint ReadU32(byte[] d, long o) => (uint)(d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24));
        private static ulong ReadU64(byte[] d, long o) => ReadU32(d, o) | ((ulong)ReadU32(d, o + 4) << 32);
    }

    /// <summary>Replaces files by rename, so that no reader ever sees a partly written file.</summary>
    public static class AtomicFile
    {
        /// <summary>
        /// Writes <paramref name="content"/> to a new temporary file in the folder of <paramref name="target"/> (flushed to
        /// disk), then renames it over <paramref name="target"/> (rename(2) replaces the directory entry atomically; the
        /// old inode lives on for processes that hold it open or mapped). The temporary file starts as a copy of
        /// <paramref name="permissionsFrom"/> when given, so it gets that file's permission bits; it is removed if
        /// anything fails before the rename.
        /// </summary>
        public static void Replace(string target, byte[] content, string? permissionsFrom)
        {
            string full = Path.GetFullPath(target);
            string dir = Path.GetDirectoryName(full) ?? ".";
            Directory.CreateDirectory(dir);
            string tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                bool copied = permissionsFrom != null && File.Exists(permissionsFrom);
                if (copied)
                    File.Copy(permissionsFrom!, tmp);
                using (var fs = new FileStream(tmp, copied ? FileMode.Truncate : FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    fs.Write(content, 0, content.Length);
                    fs.Flush(true);
                }
                if (File.Exists(full))
                {
                    File.Replace(tmp, full, null); // rename(2) on Unix
                }
                else
                {
                    try { File.Move(tmp, full); } // fails rather than overwrite when the target appeared meanwhile
                    catch (IOException) when (File.Exists(full)) { File.Replace(tmp, full, null); }
                }
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
        }
    }

    /// <summary>
    /// Copies a native library into a build output, marking its version need WEAK on the way, without ever writing into
    /// a file that a running process may have mapped: an identical destination is left alone, anything else is replaced
    /// by rename (<see cref="AtomicFile.Replace"/>).
    /// </summary>
    public static class NativeLibraryCopy
    {
        /// <summary>
        /// Makes <paramref name="destination"/> hold the bytes of <paramref name="source"/>, with the need for
        /// <paramref name="version"/> from <paramref name="library"/> marked WEAK when <paramref name="markWeak"/> is true.
        /// When the destination already holds exactly those bytes it is not opened for writing (<see cref="NativeCopyResult.UpToDate"/>);
        /// otherwise the bytes are written to a temporary file next to it and renamed over it (<see cref="NativeCopyResult.Written"/>).
        /// </summary>
        public static NativeCopyResult Copy(string source, string destination, string library, string version, bool markWeak)
        {
            byte[] wanted = File.ReadAllBytes(source);
            if (markWeak)
                ElfVersionNeed.SetWeak(wanted, source, library, version);
            if (File.Exists(destination) && SameBytes(File.ReadAllBytes(destination), wanted))
                return NativeCopyResult.UpToDate;
            AtomicFile.Replace(destination, wanted, source);
            return NativeCopyResult.Written;
        }

        private static bool SameBytes(byte[] a, byte[] b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++)
                if (a[i] != b[i]) return false;
            return true;
        }
    }

    /// <summary>Finds the libstdc++ the dynamic loader would use, to ask which GLIBCXX versions it defines.</summary>
    public static class SystemLibStdCxx
    {
        private static readonly string[] Dirs =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib64", "/usr/local/lib",
        };

        /// <summary>The first libstdc++.so.6 on LD_LIBRARY_PATH or the standard library folders; null if none.</summary>
        public static string? Locate()
        {
            var dirs = new System.Collections.Generic.List<string>();
            string? ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ld)) dirs.AddRange(ld.Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries));
            dirs.AddRange(Dirs);
            foreach (var d in dirs)
            {
                string p = Path.Combine(d, "libstdc++.so.6");
                if (File.Exists(p)) return p;
            }
            return null;
        }
    }
}

#if !ELFPATCH_NO_MSBUILD
namespace DiscreteGrad.Build
{
    /// <summary>Shared by the tasks: is the libstdc++ compatibility step needed on this machine?</summary>
    internal static class CompatCheck
    {
        /// <summary>The system libstdc++ (null if none found) and whether it defines <paramref name="version"/>.</summary>
        public static bool SystemDefines(string version, out string? systemLibrary)
        {
            systemLibrary = SystemLibStdCxx.Locate();
            try { return systemLibrary != null && ElfVersionNeed.DefinesVersion(systemLibrary, version); }
            catch (InvalidDataException) { return false; }
        }
    }

    /// <summary>
    /// MSBuild task: for each file in <see cref="Files"/> that exists, marks its need for <see cref="Version"/> from
    /// <see cref="Library"/> WEAK, unless the system's libstdc++ defines that version and <see cref="Always"/> is false
    /// (then it does nothing). A file whose need is already WEAK is not written; any other is replaced by rename
    /// (<see cref="ElfVersionNeed.MarkWeak"/>).
    /// </summary>
    public class MarkElfVersionNeedWeak : Microsoft.Build.Utilities.Task
    {
        /// <summary>The ELF files to patch; missing ones are ignored.</summary>
        [Microsoft.Build.Framework.Required] public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();
        /// <summary>The library the version is needed from.</summary>
        public string Library { get; set; } = "libstdc++.so.6";
        /// <summary>The version need to mark WEAK.</summary>
        public string Version { get; set; } = "GLIBCXX_3.4.32";
        /// <summary>
        /// Mark the need WEAK even when this machine's libstdc++ defines the version: for outputs that run on other
        /// machines (a publish folder, a tool package). A WEAK need that the system satisfies binds as before.
        /// </summary>
        public bool Always { get; set; }

        /// <inheritdoc />
        public override bool Execute()
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
                return true;
            var existing = new System.Collections.Generic.List<string>();
            foreach (var f in Files)
                if (File.Exists(f.ItemSpec)) existing.Add(f.ItemSpec);
            if (existing.Count == 0) return true;

            bool systemDefines = CompatCheck.SystemDefines(Version, out string? sys);
            if (systemDefines && !Always)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                    $"libstdc++ compatibility: {sys} defines {Version}; {Path.GetFileName(existing[0])} left unchanged.");
                return true;
            }
            foreach (var file in existing)
            {
                try
                {
                    var r = ElfVersionNeed.MarkWeak(file, Library, Version);
                    Log.LogMessage(r == ElfPatchResult.Patched ? Microsoft.Build.Framework.MessageImportance.High : Microsoft.Build.Framework.MessageImportance.Normal,
                        r == ElfPatchResult.Patched
                        ? systemDefines
                            ? $"libstdc++ compatibility: marked the {Version} need WEAK in {file}, for machines whose libstdc++ lacks it ({sys} defines it)."
                            : $"libstdc++ compatibility: {sys ?? "system libstdc++ (not found)"} lacks {Version}; marked that need WEAK in {file}."
                        : $"libstdc++ compatibility: {Version} need already WEAK in {file}; not rewritten.");
                }
                catch (Exception e) when (e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
                {
                    Log.LogError($"libstdc++ compatibility step failed: {e.Message}");
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>
    /// MSBuild task: copies each of <see cref="SourceFiles"/> to the matching entry of <see cref="DestinationFiles"/> with
    /// <see cref="NativeLibraryCopy.Copy"/>, marking the need for <see cref="Version"/> from <see cref="Library"/> WEAK when
    /// the system's libstdc++ lacks that version. A destination that already holds the wanted bytes is not written; any
    /// other is replaced by rename, so a process that has the library mapped is never disturbed.
    /// </summary>
    public class CopyNativeMarkingVersionNeedWeak : Microsoft.Build.Utilities.Task
    {
        /// <summary>The native libraries as the packages ship them.</summary>
        [Microsoft.Build.Framework.Required] public Microsoft.Build.Framework.ITaskItem[] SourceFiles { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();
        /// <summary>Where each goes, one per source file.</summary>
        [Microsoft.Build.Framework.Required] public Microsoft.Build.Framework.ITaskItem[] DestinationFiles { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();
        /// <summary>The library the version is needed from.</summary>
        public string Library { get; set; } = "libstdc++.so.6";
        /// <summary>The version need to mark WEAK.</summary>
        public string Version { get; set; } = "GLIBCXX_3.4.32";

        /// <inheritdoc />
        public override bool Execute()
        {
            if (SourceFiles.Length != DestinationFiles.Length)
            {
                Log.LogError($"libstdc++ compatibility: {SourceFiles.Length} source files but {DestinationFiles.Length} destinations.");
                return false;
            }
            if (SourceFiles.Length == 0) return true;
            bool linux = System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux);
            string? sys = null;
            bool markWeak = linux && !CompatCheck.SystemDefines(Version, out sys);
            for (int i = 0; i < SourceFiles.Length; i++)
            {
                string src = SourceFiles[i].ItemSpec, dst = DestinationFiles[i].ItemSpec;
                try
                {
                    var r = NativeLibraryCopy.Copy(src, dst, Library, Version, markWeak);
                    if (r == NativeCopyResult.UpToDate)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"libstdc++ compatibility: {dst} is up to date; not rewritten.");
                    else
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, markWeak
                            ? $"libstdc++ compatibility: {sys ?? "system libstdc++ (not found)"} lacks {Version}; copied {src} to {dst} with that need marked WEAK."
                            : $"libstdc++ compatibility: copied {src} to {dst} unchanged (the system libstdc++ defines {Version}).");
                }
                catch (Exception e) when (e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
                {
                    Log.LogError($"libstdc++ compatibility step failed: {e.Message}");
                    return false;
                }
            }
            return true;
        }
    }
}
#endif
