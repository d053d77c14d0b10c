// Why a hand-written zip reader: System.IO.Compression.ZipArchive does not expose where an entry's data starts
// in the file, so it cannot hand out zero-copy views into a MemoryMappedFile; multi-GB weights stored uncompressed
// in a TorchScript archive must be read in place, not copied through a stream. This reads the end of central
// directory record (and its ZIP64 locator/record), the central directory (with ZIP64 extra fields for sizes and
// offsets), and each entry's local header to find where its data begins.

using System.Buffers.Binary;
using System.Text;
using ModelForge.Core.Diagnostics;

namespace ModelForge.TorchScript.Archive;

/// <summary>One zip entry as the central directory describes it, with the data start taken from its local header.</summary>
internal readonly record struct ZipEntry(
    string Name, ushort Method, ushort Flags, long CompressedSize, long UncompressedSize, long LocalHeaderOffset, long DataOffset)
{
    public const ushort Stored = 0;
    public const ushort Deflated = 8;
}

/// <summary>Reads the central directory of a zip file that is mapped into memory.</summary>
internal static unsafe class ZipDirectory
{
    private const uint LocalHeaderSignature = 0x04034b50;
    private const uint CentralHeaderSignature = 0x02014b50;
    private const uint EndOfCentralDirectorySignature = 0x06054b50;
    private const uint Zip64EndOfCentralDirectorySignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const int EndOfCentralDirectorySize = 22;
    private const int Zip64LocatorSize = 20;
    private const int Zip64EndOfCentralDirectorySize = 56;
    private const int CentralHeaderSize = 46;
    private const int LocalHeaderSize = 30;

    /// <summary>Whether the file has an end of central directory record at all (a zip, possibly damaged).</summary>
    public static bool FindEndOfCentralDirectory(byte* data, long length, out long position)
    {
        position = -1;
        if (length < EndOfCentralDirectorySize) return false;
        var lowest = Math.Max(0, length - EndOfCentralDirectorySize - ushort.MaxValue);
        for (var pos = length - EndOfCentralDirectorySize; pos >= lowest; pos--)
        {
            if (data[pos] != 0x50 || BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(data + pos, 4)) != EndOfCentralDirectorySignature)
                continue;
            var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(data + pos + 20, 2));
            if (pos + EndOfCentralDirectorySize + commentLength > length) continue;
            position = pos;
            return true;
        }
        return false;
    }

    /// <summary>All entries, in central-directory order. Throws MF1004 for anything inconsistent.</summary>
    public static List<ZipEntry> ReadEntries(byte* data, long length, long eocdPosition, string path)
    {
        var eocd = Window(data, length, eocdPosition, EndOfCentralDirectorySize, path, "end of central directory record");
        var disk = BinaryPrimitives.ReadUInt16LittleEndian(eocd[4..]);
        var cdDisk = BinaryPrimitives.ReadUInt16LittleEndian(eocd[6..]);
        long entriesOnDisk = BinaryPrimitives.ReadUInt16LittleEndian(eocd[8..]);
        long totalEntries = BinaryPrimitives.ReadUInt16LittleEndian(eocd[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(eocd[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(eocd[16..]);
        var cdEnd = eocdPosition; // the central directory must end before this

        var locatorPosition = eocdPosition - Zip64LocatorSize;
        var hasLocator = locatorPosition >= 0 &&
            BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(data + locatorPosition, 4)) == Zip64LocatorSignature;
        var needsZip64 = totalEntries == 0xFFFF || entriesOnDisk == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF;
        if (hasLocator)
        {
            var locator = Window(data, length, locatorPosition, Zip64LocatorSize, path, "ZIP64 end of central directory locator");
            var recordOffset = BinaryPrimitives.ReadInt64LittleEndian(locator[8..]);
            var record = Window(data, length, recordOffset, Zip64EndOfCentralDirectorySize, path, "ZIP64 end of central directory record");
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndOfCentralDirectorySignature)
                throw Corrupt(path, "the ZIP64 end of central directory record is missing where its locator points");
            disk = (ushort)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(record[16..]), ushort.MaxValue);
            cdDisk = (ushort)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(record[20..]), ushort.MaxValue);
            entriesOnDisk = BinaryPrimitives.ReadInt64LittleEndian(record[24..]);
            totalEntries = BinaryPrimitives.ReadInt64LittleEndian(record[32..]);
            cdSize = BinaryPrimitives.ReadInt64LittleEndian(record[40..]);
            cdOffset = BinaryPrimitives.ReadInt64LittleEndian(record[48..]);
            cdEnd = recordOffset;
        }
        else if (needsZip64)
        {
            throw Corrupt(path, "the end of central directory record needs ZIP64 values but the ZIP64 locator is missing");
        }

        if (disk != 0 || cdDisk != 0 || entriesOnDisk != totalEntries)
            throw Corrupt(path, "multi-part (spanned) zip archives are not supported");
        if (totalEntries < 0 || cdSize < 0 || cdOffset < 0 || cdOffset > cdEnd || cdSize > cdEnd - cdOffset)
            throw Corrupt(path, "the central directory lies outside the file; the file is truncated");
        if (totalEntries > cdSize / CentralHeaderSize)
            throw Corrupt(path, $"the central directory claims {totalEntries} entries but is only {cdSize} bytes long");

        var entries = new List<ZipEntry>((int)Math.Min(totalEntries, 1 << 16));
        var position = cdOffset;
        var directoryEnd = cdOffset + cdSize;
        for (long i = 0; i < totalEntries; i++)
        {
            if (directoryEnd - position < CentralHeaderSize)
                throw Corrupt(path, $"central directory entry {i} runs past the end of the central directory");
            var header = new ReadOnlySpan<byte>(data + position, CentralHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != CentralHeaderSignature)
                throw Corrupt(path, $"central directory entry {i} at byte {position} has a bad signature");
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
            var method = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
            var entryDisk = BinaryPrimitives.ReadUInt16LittleEndian(header[34..]);
            long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[42..]);
            var variableLength = (long)nameLength + extraLength + commentLength;
            if (directoryEnd - position - CentralHeaderSize < variableLength)
                throw Corrupt(path, $"central directory entry {i} at byte {position} runs past the end of the central directory");
            var nameBytes = new ReadOnlySpan<byte>(data + position + CentralHeaderSize, nameLength);
            var name = Encoding.UTF8.GetString(nameBytes);
            var extra = new ReadOnlySpan<byte>(data + position + CentralHeaderSize + nameLength, extraLength);
            ApplyZip64Extra(extra, ref uncompressed, ref compressed, ref localOffset, ref entryDisk, name, path);
            position += CentralHeaderSize + variableLength;

            if (entryDisk != 0) throw Corrupt(path, $"entry '{name}' lives on another disk of a spanned archive");
            if ((flags & 1) != 0) throw Corrupt(path, $"entry '{name}' is encrypted");
            if (method != ZipEntry.Stored && method != ZipEntry.Deflated)
                throw Corrupt(path, $"entry '{name}' uses compression method {method}; only stored (0) and deflate (8) are supported");
            if (compressed < 0 || uncompressed < 0 || localOffset < 0)
                throw Corrupt(path, $"entry '{name}' has negative sizes or offset");
            if (method == ZipEntry.Stored && compressed != uncompressed)
                throw Corrupt(path, $"stored entry '{name}' has different compressed ({compressed}) and uncompressed ({uncompressed}) sizes");

            if (localOffset > length - LocalHeaderSize)
                throw Corrupt(path, $"the local header of entry '{name}' lies past the end of the file; the file is truncated");
            var local = new ReadOnlySpan<byte>(data + localOffset, LocalHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(local) != LocalHeaderSignature)
                throw Corrupt(path, $"the local header of entry '{name}' at byte {localOffset} has a bad signature");
            var dataOffset = localOffset + LocalHeaderSize + BinaryPrimitives.ReadUInt16LittleEndian(local[26..])
                + BinaryPrimitives.ReadUInt16LittleEndian(local[28..]);
            if (dataOffset > length || compressed > length - dataOffset)
                throw Corrupt(path, $"the data of entry '{name}' runs past the end of the file; the file is truncated");
            entries.Add(new ZipEntry(name, method, flags, compressed, uncompressed, localOffset, dataOffset));
        }
        return entries;
    }

    private static void ApplyZip64Extra(ReadOnlySpan<byte> extra, ref long uncompressed, ref long compressed, ref long localOffset,
        ref ushort disk, string name, string path)
    {
        while (extra.Length >= 4)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            var size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (size > extra.Length - 4) throw Corrupt(path, $"entry '{name}' has a malformed extra field");
            var field = extra.Slice(4, size);
            if (id == 0x0001)
            {
                // Values appear only for the header fields that are saturated, in this order.
                if (uncompressed == 0xFFFFFFFF) uncompressed = Take8(ref field, name, path);
                if (compressed == 0xFFFFFFFF) compressed = Take8(ref field, name, path);
                if (localOffset == 0xFFFFFFFF) localOffset = Take8(ref field, name, path);
                if (disk == 0xFFFF)
                {
                    if (field.Length < 4) throw Corrupt(path, $"entry '{name}' has a short ZIP64 extra field");
                    disk = (ushort)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(field), ushort.MaxValue);
                }
                return;
            }
            extra = extra[(4 + size)..];
        }
    }

    private static long Take8(ref ReadOnlySpan<byte> field, string name, string path)
    {
        if (field.Length < 8) throw Corrupt(path, $"entry '{name}' has a short ZIP64 extra field");
        var value = BinaryPrimitives.ReadInt64LittleEndian(field);
        field = field[8..];
        return value;
    }

    private static ReadOnlySpan<byte> Window(byte* data, long length, long offset, int size, string path, string what)
    {
        if (offset < 0 || offset > length - size)
            throw Corrupt(path, $"the {what} lies outside the file; the file is truncated or corrupt");
        return new ReadOnlySpan<byte>(data + offset, size);
    }

    internal static ModelForgeException Corrupt(string path, string message) =>
        new(DiagnosticCode.ArchiveCorrupt, $"'{Path.GetFileName(path)}' is a damaged zip archive: {message}",
            new SourceLocation(path), "save the model again with torch.jit.save, and check that the copy is complete");
}
