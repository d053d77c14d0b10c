// The zip central directory is read by hand (ZipDirectory.cs) because System.IO.Compression.ZipArchive does not
// expose entry data offsets, and we need zero-copy views into a MemoryMappedFile for multi-GB weights.

using System.IO.Compression;
using System.IO.MemoryMappedFiles;
using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.Model;
using ModelForge.TorchScript.Pickle;

namespace ModelForge.TorchScript.Archive;

/// <summary>A TorchScript zip, memory-mapped; entries are read without copying where stored uncompressed.</summary>
public sealed unsafe class TorchScriptArchive : IDisposable
{
    /// <summary>A deflated entry may expand at most this much (zip-bomb guard).</summary>
    internal const long MaxCompressionRatio = 200;

    /// <summary>A deflated entry may expand to at most this many bytes (weights are stored, never deflated).</summary>
    internal const long MaxDeflatedSize = 4L << 30;

    private const string TorchJitHint =
        "ModelForge converts TorchScript archives: trace or script the model (torch.jit.trace or torch.jit.script) and save it with torch.jit.save";

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _length;
    private readonly Dictionary<string, ZipEntry> _entries;
    private readonly Dictionary<string, TensorStorage> _storages = new(StringComparer.Ordinal);
    private readonly object _storageLock = new();

    /// <summary>Bytes of tensor storages inflated into arrays so far (under <see cref="_storageLock"/>); mapped storages do not count.</summary>
    private long _inflatedStorageBytes;
    private int _disposed;

    private TorchScriptArchive(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* basePointer, long length,
        string root, Dictionary<string, ZipEntry> entries)
    {
        FilePath = path;
        _file = file;
        _view = view;
        _base = basePointer;
        _length = length;
        RootFolder = root;
        _entries = entries;
        var names = entries.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        EntryNames = names;
    }

    public string FilePath { get; }

    /// <summary>The single top-level folder of the zip, e.g. <c>r18</c> (PyTorch 1.x: the file stem) or <c>archive</c> (2.x).</summary>
    public string RootFolder { get; }

    /// <summary>The serialization format version, from <c>version</c> (or <c>.data/version</c>).</summary>
    public int FormatVersion { get; private set; }

    /// <summary>Entry names relative to <see cref="RootFolder"/>, with '/' separators, sorted ordinally.</summary>
    public IReadOnlyList<string> EntryNames { get; }

    /// <summary>Entries under <c>code/</c> ending in <c>.py</c>, sorted ordinally.</summary>
    public IEnumerable<string> CodeFiles => EntryNames.Where(n => n.StartsWith("code/", StringComparison.Ordinal) && n.EndsWith(".py", StringComparison.Ordinal));

    /// <summary>Opens and validates a TorchScript archive. Throws <see cref="ModelForgeException"/> (MF1001–MF1005).</summary>
    public static TorchScriptArchive Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new ModelForgeException(DiagnosticCode.FileNotFound,
                Directory.Exists(fullPath) ? $"'{path}' is a directory, not a TorchScript archive" : $"model file '{path}' does not exist",
                new SourceLocation(path));

        FileStream stream;
        try
        {
            stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.FileNotFound, $"cannot open '{path}': {e.Message}", new SourceLocation(path)), e);
        }

        var length = stream.Length;
        if (length == 0)
        {
            stream.Dispose();
            throw NotAZip(path, ReadOnlySpan<byte>.Empty);
        }

        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        var owned = false;
        try
        {
            file = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read,
                HandleInheritability.None, leaveOpen: false);
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            var archive = Create(path, file, view, pointer + view.PointerOffset, length);
            owned = true;
            return archive;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.FileNotFound, $"cannot map '{path}' into memory: {e.Message}", new SourceLocation(path)), e);
        }
        finally
        {
            if (!owned)
            {
                if (pointer != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
                view?.Dispose();
                file?.Dispose();
                stream.Dispose();
            }
        }
    }

    private static TorchScriptArchive Create(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* data, long length)
    {
        if (!ZipDirectory.FindEndOfCentralDirectory(data, length, out var eocd))
        {
            var head = new ReadOnlySpan<byte>(data, (int)Math.Min(length, 16));
            if (head.StartsWith("PK\x03\x04"u8))
                throw ZipDirectory.Corrupt(path, "the end of central directory record is missing; the file is truncated");
            throw NotAZip(path, head);
        }

        var raw = ZipDirectory.ReadEntries(data, length, eocd, path);

        // Safety first, for every entry (directories included), before the names are interpreted.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in raw)
        {
            CheckEntryName(entry.Name, path);
            if (!seen.Add(entry.Name))
                throw Unsafe(path, entry.Name, "appears twice in the zip directory");
            if (entry.Method == ZipEntry.Deflated)
            {
                if (entry.UncompressedSize > MaxDeflatedSize)
                    throw Unsafe(path, entry.Name, $"would decompress to {entry.UncompressedSize} bytes, more than the 4 GiB allowed for a compressed entry");
                if (entry.UncompressedSize > Math.Max(entry.CompressedSize, 1) * MaxCompressionRatio)
                    throw Unsafe(path, entry.Name,
                        $"expands from {entry.CompressedSize} to {entry.UncompressedSize} bytes, a ratio above {MaxCompressionRatio} (a zip bomb?)");
            }
        }

        string? root = null;
        var entries = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        foreach (var entry in raw)
        {
            var slash = entry.Name.IndexOf('/');
            if (slash <= 0)
                throw NotTorchScript(path, $"entry '{entry.Name}' is not inside a root folder; a TorchScript archive keeps every entry under one folder", null);
            var top = entry.Name[..slash];
            if (root is null) root = top;
            else if (!string.Equals(root, top, StringComparison.Ordinal))
                throw NotTorchScript(path, $"it has more than one root folder ('{root}' and '{top}'); a TorchScript archive keeps every entry under one folder", null);
            if (entry.Name.EndsWith('/')) continue; // a directory record
            entries.Add(entry.Name[(slash + 1)..], entry);
        }

        if (root is null)
            throw NotTorchScript(path, "the zip is empty", TorchJitHint);
        var hasData = entries.ContainsKey("data.pkl");
        var hasCode = entries.Keys.Any(n => n.StartsWith("code/", StringComparison.Ordinal));
        // _save_for_lite_interpreter writes bytecode.pkl (and extra/mobile_info.json when given mobile info). Such a
        // zip that still carries the TorchScript code and data.pkl (PyTorch 1.13 writes both) converts like any other.
        if ((!hasData || !hasCode) && (entries.ContainsKey("bytecode.pkl") || entries.ContainsKey("extra/mobile_info.json")))
            throw Mobile(path, $"it has bytecode.pkl for the lite interpreter but no {(hasCode ? "data.pkl" : "code/ folder")}");
        if (!hasData && !hasCode)
            throw NotTorchScript(path, "it is a zip without data.pkl or code/", TorchJitHint);
        if (!hasCode)
            throw NotTorchScript(path, "it has data.pkl but no code/ folder, so it was saved with torch.save (a state_dict or a pickled module), not torch.jit.save",
                TorchJitHint);
        if (!hasData)
            throw NotTorchScript(path, "it has a code/ folder but no data.pkl (the module's attributes and weights)",
                "save the model again with torch.jit.save; archives written by torch.jit.save always contain data.pkl");

        var archive = new TorchScriptArchive(path, file, view, data, length, root, entries);
        archive.FormatVersion = archive.ReadFormatVersion();
        archive.CheckByteOrder();
        return archive;
    }

    private int ReadFormatVersion()
    {
        var name = Contains("version") ? "version" : Contains(".data/version") ? ".data/version" : null;
        if (name is null)
            throw NotTorchScript(FilePath, "it has no 'version' record", "save the model again with torch.jit.save");
        var text = Encoding.ASCII.GetString(Read(name).Span).Trim();
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version))
            throw ZipDirectory.Corrupt(FilePath, $"the '{name}' record holds '{Truncate(text)}', not a version number");
        return version;
    }

    private void CheckByteOrder()
    {
        if (!Contains("byteorder")) return;
        var text = Encoding.ASCII.GetString(Read("byteorder").Span).Trim();
        if (!string.Equals(text, "little", StringComparison.Ordinal))
            throw new ModelForgeException(DiagnosticCode.UnsupportedDtype,
                $"the archive stores its tensors in '{Truncate(text)}' byte order; only little-endian storages are supported",
                new SourceLocation($"{FilePath}!/byteorder"), "save the model on a little-endian machine");
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>
    /// An entry's bytes. Stored entries are a view on the mapped file (no copy, valid until the archive is disposed);
    /// deflated ones are decompressed. Throws MF1004 if the entry is missing or damaged.
    /// </summary>
    public ReadOnlyMemory<byte> Read(string name)
    {
        ThrowIfDisposed();
        if (!_entries.TryGetValue(name, out var entry))
            throw new ModelForgeException(DiagnosticCode.ArchiveCorrupt, $"the archive has no entry '{name}'",
                new SourceLocation(FilePath), "the archive is incomplete or was edited; save the model again with torch.jit.save");
        if (entry.Method == ZipEntry.Stored)
        {
            if (entry.UncompressedSize > Array.MaxLength)
                throw new ModelForgeException(DiagnosticCode.TensorStorageInvalid,
                    $"entry '{name}' is {entry.UncompressedSize} bytes; entries above {Array.MaxLength} bytes are not supported yet",
                    new SourceLocation($"{FilePath}!/{name}"), "split the tensor or keep each weight below 2 GiB");
            return new MappedMemoryManager(this, _base + entry.DataOffset, entry.DataOffset, (int)entry.UncompressedSize).Memory;
        }
        return Inflate(name, entry);
    }

    private byte[] Inflate(string name, ZipEntry entry)
    {
        if (entry.UncompressedSize > Array.MaxLength)
            throw Unsafe(FilePath, RootFolder + "/" + name, $"would decompress to {entry.UncompressedSize} bytes, more than one buffer can hold");
        MemoryLimit.Check(entry.UncompressedSize, $"compressed entry '{name}' (decompressed)", new SourceLocation($"{FilePath}!/{name}"));
        var buffer = new byte[entry.UncompressedSize];
        try
        {
            using var source = new UnmanagedMemoryStream(_base + entry.DataOffset, entry.CompressedSize);
            using var inflater = new DeflateStream(source, CompressionMode.Decompress);
            var filled = 0;
            while (filled < buffer.Length)
            {
                var n = inflater.Read(buffer, filled, buffer.Length - filled);
                if (n == 0) break;
                filled += n;
            }
            Span<byte> probe = stackalloc byte[1];
            if (filled != buffer.Length || inflater.Read(probe) != 0)
                throw ZipDirectory.Corrupt(FilePath,
                    $"entry '{name}' decompresses to {(filled != buffer.Length ? filled.ToString(System.Globalization.CultureInfo.InvariantCulture) : "more than " + buffer.Length)} bytes, not the {buffer.Length} its header says");
        }
        catch (InvalidDataException e)
        {
            throw new ModelForgeException(
                new Diagnostic(DiagnosticCode.ArchiveCorrupt, $"entry '{name}' holds damaged compressed data: {e.Message}",
                    new SourceLocation($"{FilePath}!/{name}"), "save the model again with torch.jit.save, and check that the copy is complete"), e);
        }
        return buffer;
    }

    /// <summary>
    /// Unpickles <paramref name="name"/> (<c>data.pkl</c>, <c>constants.pkl</c>, a <c>.debug_pkl</c>), resolving tensor
    /// storages from <c>&lt;pickle name&gt;/&lt;key&gt;</c> (<c>data/0</c>, <c>constants/0</c>; <c>.data/&lt;key&gt;</c> as a fallback).
    /// Storages are cached per entry, so tensors sharing a storage share one <see cref="TensorStorage"/>.
    /// </summary>
    public object? LoadPickle(string name)
    {
        var bytes = Read(name);
        var tensorDir = (name.EndsWith(".pkl", StringComparison.Ordinal) ? name[..^4] : name) + "/";
        return TorchUnpickler.Load(bytes, name, $"{FilePath}!/{name}",
            (key, type, count) => LoadStorage(tensorDir, key, type, count, name));
    }

    private TensorStorage LoadStorage(string tensorDir, string key, DataType type, long count, string pickleName)
    {
        var entryName = tensorDir + key;
        if (!Contains(entryName) && Contains(".data/" + key)) entryName = ".data/" + key;
        lock (_storageLock)
        {
            if (_storages.TryGetValue(entryName, out var cached))
            {
                if (cached.DataType != type || cached.ElementCount != count)
                    throw new ModelForgeException(DiagnosticCode.TensorStorageInvalid,
                        $"storage '{key}' is referenced as {count} {type.Name()} elements but also as {cached.ElementCount} {cached.DataType.Name()} elements",
                        new SourceLocation($"{FilePath}!/{pickleName}"), "the archive is damaged; save the model again with torch.jit.save");
                return cached;
            }
            if (!Contains(entryName))
                throw new ModelForgeException(DiagnosticCode.TensorStorageInvalid,
                    $"{pickleName} references tensor storage '{key}', but the archive has no entry '{tensorDir}{key}'",
                    new SourceLocation($"{FilePath}!/{pickleName}"), "the archive is incomplete; save the model again with torch.jit.save");
            CheckStorageMemory(key, type, count, entryName, pickleName);
            var storage = new TensorStorage(key, type, count, Read(entryName), $"{FilePath}!/{entryName}");
            _storages.Add(entryName, storage);
            return storage;
        }
    }

    /// <summary>
    /// Checks a storage's declared size (<paramref name="count"/> elements in <c>data.pkl</c>) against the memory cap
    /// before its entry is read: each storage on its own, since a conversion may copy one whole (a non-contiguous view
    /// gathered, values read as floats), and the total of the storages that are inflated into arrays. Stored
    /// (uncompressed) storages, which torch.jit.save writes for weights, are memory-mapped, not allocated, so they do
    /// not count towards the total. Caller holds <see cref="_storageLock"/>.
    /// </summary>
    private void CheckStorageMemory(string key, DataType type, long count, string entryName, string pickleName)
    {
        if (!type.HasFixedSize()) return; // TensorStorage reports the dtype
        long declared;
        try
        {
            declared = checked(count * type.SizeInBytes());
        }
        catch (OverflowException)
        {
            return; // TensorStorage reports the impossible size
        }
        var location = new SourceLocation($"{FilePath}!/{pickleName}");
        MemoryLimit.Check(declared, $"tensor storage '{key}' ({count} {type.Name()} elements)", location);
        if (_entries[entryName].Method != ZipEntry.Deflated) return;
        var total = _inflatedStorageBytes + declared;
        MemoryLimit.Check(total, $"the archive's compressed tensor storages (up to '{key}')", location);
        _inflatedStorageBytes = total;
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }

    private static void CheckEntryName(string name, string path)
    {
        if (name.Length == 0) throw Unsafe(path, name, "has an empty name");
        if (name.Contains('\\')) throw Unsafe(path, name, "contains a backslash");
        if (name.Contains('\0')) throw Unsafe(path, name, "contains a NUL character");
        if (name.StartsWith('/') || (name.Length >= 2 && name[1] == ':' && char.IsAsciiLetter(name[0])))
            throw Unsafe(path, name, "is an absolute path");
        var segments = name.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment == "..") throw Unsafe(path, name, "contains a '..' segment that points outside the archive");
            if (segment == ".") throw Unsafe(path, name, "contains a '.' segment");
            if (segment.Length == 0 && i != segments.Length - 1) throw Unsafe(path, name, "contains an empty path segment");
        }
    }

    private static ModelForgeException Unsafe(string path, string entry, string problem) =>
        new(DiagnosticCode.UnsafeArchiveEntry, $"zip entry '{entry}' {problem}; refusing to read the archive", new SourceLocation(path),
            "only open archives written by torch.jit.save from a source you trust");

    private const string MobileHint =
        "save the scripted or traced module with torch.jit.save(module, \"model.pt\") instead of _save_for_lite_interpreter, and convert that";

    private static ModelForgeException Mobile(string path, string why) =>
        new(DiagnosticCode.MobileArchive, $"'{Path.GetFileName(path)}' is a PyTorch Mobile (lite interpreter) model, not a TorchScript archive: {why}",
            new SourceLocation(path), MobileHint);

    private static ModelForgeException NotTorchScript(string path, string why, string? hint) =>
        new(DiagnosticCode.NotTorchScript, $"'{Path.GetFileName(path)}' is not a TorchScript archive: {why}", new SourceLocation(path), hint);

    private static ModelForgeException NotAZip(string path, ReadOnlySpan<byte> head)
    {
        var location = new SourceLocation(path);
        var file = Path.GetFileName(path);
        if (head.Length == 0)
            return new(DiagnosticCode.NotAZipArchive, $"'{file}' is empty, not a TorchScript archive", location, TorchJitHint);
        if (head.Length >= 8 && head[4..8].SequenceEqual("PTMF"u8))
            return Mobile(path, "it is a flatbuffer saved with _save_for_lite_interpreter(_use_flatbuffer=True), which holds bytecode only");
        if (head.Length >= 2 && head[0] == 0x80 && head[1] <= 5)
            return new(DiagnosticCode.NotAZipArchive,
                $"'{file}' is a raw pickle (the legacy torch.save format, a state_dict or a pickled module), not a TorchScript archive",
                location, TorchJitHint);
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || LooksLikeOnnx(head))
            return new(DiagnosticCode.NotAZipArchive, $"'{file}' is an ONNX model, not a TorchScript archive",
                location, "ModelForge converts TorchScript to ONNX; this file is already ONNX and can be used as it is");
        return new(DiagnosticCode.NotAZipArchive, $"'{file}' is not a zip archive, so it cannot be a TorchScript archive", location, TorchJitHint);
    }

    /// <summary>ModelProto usually starts with field 1 (ir_version, a small varint) followed by another known field.</summary>
    private static bool LooksLikeOnnx(ReadOnlySpan<byte> head) =>
        head.Length >= 3 && head[0] == 0x08 && head[1] is > 0 and < 0x20 && head[2] is 0x12 or 0x1a or 0x22 or 0x2a or 0x3a or 0x42;

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
