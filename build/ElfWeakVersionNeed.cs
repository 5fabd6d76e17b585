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

    /// <summary>Reads and edits the GNU symbol-versioning sections of a 64-bit little-endian ELF file.</summary>
    public static class ElfVersionNeed
    {
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        /// <summary>VER_FLG_WEAK from elf.h.</summary>
        public const ushort VerFlagWeak = 0x2;

        /// <summary>
        /// Sets VER_FLG_WEAK on the version-need entry <paramref name="version"/> required from <paramref name="library"/>.
        /// Idempotent. Throws <see cref="InvalidDataException"/> when the file is not a 64-bit little-endian ELF, has no
        /// .gnu.version_r section, or does not need that version from that library.
        /// </summary>
        public static ElfPatchResult MarkWeak(string path, string library, string version)
        {
            byte[] data = File.ReadAllBytes(path);
            long flagsOffset = FindVernauxFlagsOffset(data, path, library, version);
            ushort flags = ReadU16(data, flagsOffset);
            if ((flags & VerFlagWeak) != 0)
                return ElfPatchResult.AlreadyWeak;
            ushort newFlags = (ushort)(flags | VerFlagWeak);
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
            {
                fs.Seek(flagsOffset, SeekOrigin.Begin);
                fs.WriteByte((byte)(newFlags & 0xff));
                fs.WriteByte((byte)(newFlags >> 8));
                fs.Flush(true);
            }
            return ElfPatchResult.Patched;
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
    /// <summary>
    /// MSBuild task: for each file in <see cref="Files"/> that exists, marks its need for <see cref="Version"/> from
    /// <see cref="Library"/> WEAK, unless the system's libstdc++ defines that version (then it does nothing).
    /// </summary>
    public class MarkElfVersionNeedWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();
        public string Library { get; set; } = "libstdc++.so.6";
        public string Version { get; set; } = "GLIBCXX_3.4.32";

        public override bool Execute()
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
                return true;
            var existing = new System.Collections.Generic.List<string>();
            foreach (var f in Files)
                if (File.Exists(f.ItemSpec)) existing.Add(f.ItemSpec);
            if (existing.Count == 0) return true;

            string? sys = SystemLibStdCxx.Locate();
            bool has;
            try { has = sys != null && ElfVersionNeed.DefinesVersion(sys, Version); }
            catch (InvalidDataException) { has = false; }
            if (has)
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
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, r == ElfPatchResult.Patched
                        ? $"libstdc++ compatibility: {sys ?? "system libstdc++ (not found)"} lacks {Version}; marked that need WEAK in {file}."
                        : $"libstdc++ compatibility: {Version} need already WEAK in {file}; nothing to do.");
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
