// Why a hand-written unpickler: the repo prefers libraries, but we need an allow-list of globals enforced at the
// GLOBAL opcode before anything is built or called, size and nesting limits, and byte offsets in errors.
// Razorvine.Pickle turns unknown globals into ClassDicts and has no hook to refuse them, so a malicious archive
// (os.system, builtins.eval, subprocess.Popen, ...) would still be "loaded". This machine only understands the
// opcodes and globals that torch.jit.save writes, and refuses everything else with a diagnostic.

using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.TorchScript.Archive;

namespace ModelForge.TorchScript.Pickle;

public static class TorchUnpickler
{
    /// <summary>Deepest container nesting accepted (MF1011 beyond), so recursive consumers cannot overflow the stack.</summary>
    public const int MaxDepth = 10_000;

    /// <summary>Most values on the pickle stack at once.</summary>
    public const int MaxStackSize = 1 << 20;

    /// <summary>Most memo entries.</summary>
    public const int MaxMemoSize = 1 << 22;

    /// <summary>
    /// Unpickles a TorchScript pickle (<c>data.pkl</c>, <c>constants.pkl</c>, <c>*.debug_pkl</c>). Lists are
    /// <see cref="List{T}"/> of object?, tuples <see cref="PickleTuple"/>, dicts <see cref="PickleDict"/>, ints long
    /// (<see cref="BigInteger"/> only if it does not fit), floats double, str string, bytes byte[], None null, bools bool,
    /// tensors <see cref="TensorData"/>, TorchScript objects <see cref="PickleObject"/>.
    /// Globals outside the allow-list are refused (MF1010) before anything is built; malformed input gives MF1011
    /// with the byte offset; inconsistent tensors MF1012.
    /// </summary>
    public static object? Load(ReadOnlyMemory<byte> pickle, string sourceName, Func<string, DataType, long, TensorStorage> loadStorage) =>
        Load(pickle, sourceName, sourceName, loadStorage);

    /// <summary>As <see cref="Load(ReadOnlyMemory{byte}, string, Func{string, DataType, long, TensorStorage})"/>, with a separate file for diagnostics' locations.</summary>
    internal static object? Load(ReadOnlyMemory<byte> pickle, string sourceName, string locationFile,
        Func<string, DataType, long, TensorStorage> loadStorage)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(loadStorage);
        return new Machine(pickle, sourceName, locationFile, loadStorage).Run();
    }

    private enum GlobalKind
    {
        TorchClass,
        RebuildTensorV2,
        RebuildTensor,
        RebuildParameter,
        OrderedDict,
        Storage,
        BuildList,
        RestoreTypeTag,
        BuildTensorFromId,
        Device,
        Set,
        RebuildQTensor,
        QScheme,
    }

    /// <summary>An allow-listed global; never escapes into results.</summary>
    private sealed record GlobalRef(string Module, string Name, GlobalKind Kind, DataType StorageType = DataType.Undefined, bool Quantized = false)
    {
        public string FullName => Module + "." + Name;
    }

    private static readonly Dictionary<(string Module, string Name), GlobalKind> AllowedFunctions = new()
    {
        [("torch._utils", "_rebuild_tensor_v2")] = GlobalKind.RebuildTensorV2,
        [("torch._utils", "_rebuild_tensor")] = GlobalKind.RebuildTensor,
        [("torch._utils", "_rebuild_parameter")] = GlobalKind.RebuildParameter,
        [("torch._utils", "_rebuild_qtensor")] = GlobalKind.RebuildQTensor,
        [("torch", "per_tensor_affine")] = GlobalKind.QScheme,
        [("torch", "per_channel_affine")] = GlobalKind.QScheme,
        [("torch", "per_channel_affine_float_qparams")] = GlobalKind.QScheme,
        [("collections", "OrderedDict")] = GlobalKind.OrderedDict,
        [("torch.jit._pickle", "build_intlist")] = GlobalKind.BuildList,
        [("torch.jit._pickle", "build_doublelist")] = GlobalKind.BuildList,
        [("torch.jit._pickle", "build_boollist")] = GlobalKind.BuildList,
        [("torch.jit._pickle", "build_tensorlist")] = GlobalKind.BuildList,
        [("torch.jit._pickle", "build_tensor_from_id")] = GlobalKind.BuildTensorFromId,
        [("torch.jit._pickle", "restore_type_tag")] = GlobalKind.RestoreTypeTag,
        [("torch", "device")] = GlobalKind.Device,
        [("builtins", "set")] = GlobalKind.Set,
        [("builtins", "frozenset")] = GlobalKind.Set,
        [("__builtin__", "set")] = GlobalKind.Set, // protocol < 3 with fix_imports
        [("__builtin__", "frozenset")] = GlobalKind.Set,
    };

    /// <summary>The element type of each quantized storage class: the integers as stored (real = (q − zero_point) × scale).</summary>
    private static readonly Dictionary<string, DataType> QuantizedStorages = new(StringComparer.Ordinal)
    {
        ["QInt8Storage"] = DataType.Int8,
        ["QUInt8Storage"] = DataType.UInt8,
        ["QInt32Storage"] = DataType.Int32,
    };

    private sealed class Machine(ReadOnlyMemory<byte> input, string sourceName, string locationFile, Func<string, DataType, long, TensorStorage> loadStorage)
    {
        private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        private readonly List<object?> _stack = [];
        private readonly List<int> _marks = [];
        private readonly Dictionary<long, object?> _memo = [];
        private readonly Dictionary<object, int> _depth = new(ReferenceEqualityComparer.Instance);
        private readonly HashSet<PickleTuple> _tainted = new(ReferenceEqualityComparer.Instance); // tuples holding a GlobalRef (persistent ids)
        private readonly HashSet<TensorStorage> _quantizedStorages = new(ReferenceEqualityComparer.Instance);
        private readonly HashSet<PickleTuple> _quantizerArguments = new(ReferenceEqualityComparer.Instance); // tuples holding a quantizer tuple
        private int _pos;
        private int _opStart;

        public object? Run()
        {
            try
            {
                return Execute();
            }
            catch (ModelForgeException)
            {
                throw;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ModelForgeException(new Diagnostic(DiagnosticCode.PickleMalformed,
                    $"malformed pickle in {sourceName} at byte {_opStart}: {e.Message}", Location, Hint), e);
            }
        }

        private SourceLocation Location => new(locationFile);
        private const string Hint = "the archive is damaged or was not written by torch.jit.save; save the model again";

        private ModelForgeException Malformed(string problem) =>
            new(DiagnosticCode.PickleMalformed, $"malformed pickle in {sourceName} at byte {_opStart}: {problem}", Location, Hint);

        private ModelForgeException Forbidden(string global, string why) =>
            new(DiagnosticCode.PickleForbiddenGlobal, $"pickle in {sourceName} references the global '{global}' (byte {_opStart}), {why}; refusing to load it",
                Location, "the file may be malicious: only convert models from sources you trust, saved with torch.jit.save");

        private object? Execute()
        {
            var data = input.Span;
            while (true)
            {
                _opStart = _pos;
                if (_pos >= data.Length) throw Malformed("the pickle ends without a STOP opcode (truncated)");
                var op = data[_pos++];
                switch (op)
                {
                    case 0x80: // PROTO
                        var protocol = ReadByte(data);
                        if (protocol > 5) throw Malformed($"unknown pickle protocol {protocol}");
                        break;
                    case 0x95: // FRAME
                        var frame = ReadUInt64(data);
                        if (frame > (ulong)(data.Length - _pos)) throw Malformed($"frame of {frame} bytes runs past the end of the pickle (truncated)");
                        break;
                    case (byte)'.': // STOP
                        {
                            var result = Pop();
                            CheckValue(result);
                            return result;
                        }

                    // Globals and object construction.
                    case (byte)'c': // GLOBAL
                        {
                            var module = ReadLine(data, 1000);
                            var name = ReadLine(data, 1000);
                            Push(ResolveGlobal(module, name));
                            break;
                        }
                    case 0x93: // STACK_GLOBAL
                        {
                            var name = Pop();
                            var module = Pop();
                            if (module is not string m || name is not string n) throw Malformed("STACK_GLOBAL needs two strings on the stack");
                            Push(ResolveGlobal(m, n));
                            break;
                        }
                    case (byte)'R': // REDUCE
                        {
                            var args = Pop();
                            var callable = Pop();
                            Push(Reduce(callable, args));
                            break;
                        }
                    case 0x81: // NEWOBJ
                        {
                            var args = Pop();
                            var cls = Pop();
                            Push(NewObject(cls, args));
                            break;
                        }
                    case (byte)'b': // BUILD
                        {
                            var state = Pop();
                            CheckValue(state);
                            var target = Peek();
                            if (target is not PickleObject obj)
                                throw Malformed($"BUILD applies state to {Describe(target)}; only TorchScript objects take state");
                            if (obj.HasState) throw Malformed($"BUILD applies state twice to a {obj.ClassName}");
                            obj.State = state;
                            obj.HasState = true;
                            Grow(obj, state);
                            break;
                        }
                    case (byte)'Q': // BINPERSID
                        Push(PersistentLoad(Pop()));
                        break;
                    case (byte)'P': // PERSID
                        ReadLine(data, 1000);
                        throw Malformed("text persistent ids (PERSID) never appear in TorchScript archives");

                    // Stack and memo.
                    case (byte)'(': // MARK
                        if (_marks.Count >= MaxDepth) throw Malformed($"more than {MaxDepth} nested MARKs");
                        _marks.Add(_stack.Count);
                        break;
                    case (byte)'0': // POP
                        Pop();
                        break;
                    case (byte)'1': // POP_MARK
                        PopMark();
                        break;
                    case (byte)'2': // DUP
                        Push(Peek());
                        break;
                    case (byte)'p': // PUT
                        Memoize(ParseLong(ReadLine(data, 30)));
                        break;
                    case (byte)'q': // BINPUT
                        Memoize(ReadByte(data));
                        break;
                    case (byte)'r': // LONG_BINPUT
                        Memoize(ReadUInt32(data));
                        break;
                    case 0x94: // MEMOIZE
                        Memoize(_memo.Count);
                        break;
                    case (byte)'g': // GET
                        Push(MemoGet(ParseLong(ReadLine(data, 30))));
                        break;
                    case (byte)'h': // BINGET
                        Push(MemoGet(ReadByte(data)));
                        break;
                    case (byte)'j': // LONG_BINGET
                        Push(MemoGet(ReadUInt32(data)));
                        break;

                    // Scalars.
                    case (byte)'N': Push(null); break;
                    case 0x88: Push(true); break;
                    case 0x89: Push(false); break;
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(data, 4))); break;
                    case (byte)'K': Push((long)ReadByte(data)); break;
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(data, 2))); break;
                    case (byte)'I': // INT
                        {
                            var text = ReadLine(data, 10_000);
                            Push(text switch { "01" => true, "00" => false, _ => ParseInteger(text) });
                            break;
                        }
                    case (byte)'L': // LONG
                        {
                            var text = ReadLine(data, 10_000);
                            Push(ParseInteger(text.EndsWith('L') ? text[..^1] : text));
                            break;
                        }
                    case 0x8a: // LONG1
                        Push(DecodeLong(Take(data, ReadByte(data))));
                        break;
                    case 0x8b: // LONG4
                        {
                            var n = BinaryPrimitives.ReadInt32LittleEndian(Take(data, 4));
                            if (n < 0) throw Malformed("LONG4 with a negative length");
                            Push(DecodeLong(Take(data, n)));
                            break;
                        }
                    case (byte)'G': // BINFLOAT (big-endian)
                        Push(BinaryPrimitives.ReadDoubleBigEndian(Take(data, 8)));
                        break;
                    case (byte)'F': // FLOAT
                        {
                            var text = ReadLine(data, 100);
                            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                                throw Malformed($"FLOAT '{text}' is not a number");
                            Push(value);
                            break;
                        }

                    // Strings and bytes.
                    case (byte)'X': Push(DecodeUtf8(Take(data, Length32(data)))); break;
                    case 0x8c: Push(DecodeUtf8(Take(data, ReadByte(data)))); break;
                    case 0x8d: Push(DecodeUtf8(Take(data, Length64(data)))); break;
                    case (byte)'V': Push(DecodeRawUnicodeEscape(Encoding.Latin1.GetString(ReadLineBytes(data, int.MaxValue)))); break;
                    case (byte)'T':
                        {
                            var n = BinaryPrimitives.ReadInt32LittleEndian(Take(data, 4));
                            if (n < 0) throw Malformed("BINSTRING with a negative length");
                            Push(Encoding.Latin1.GetString(Take(data, n)));
                            break;
                        }
                    case (byte)'U': Push(Encoding.Latin1.GetString(Take(data, ReadByte(data)))); break;
                    case (byte)'B': Push(Take(data, Length32(data)).ToArray()); break;
                    case (byte)'C': Push(Take(data, ReadByte(data)).ToArray()); break;
                    case 0x8e: Push(Take(data, Length64(data)).ToArray()); break;

                    // Containers.
                    case (byte)')': Push(NewTuple([])); break;
                    case 0x85: Push(NewTuple([Pop()])); break;
                    case 0x86:
                        {
                            var b = Pop();
                            var a = Pop();
                            Push(NewTuple([a, b]));
                            break;
                        }
                    case 0x87:
                        {
                            var c3 = Pop();
                            var b = Pop();
                            var a = Pop();
                            Push(NewTuple([a, b, c3]));
                            break;
                        }
                    case (byte)'t': Push(NewTuple(PopMark())); break;
                    case (byte)']': Push(NewContainer(new List<object?>())); break;
                    case (byte)'l':
                        {
                            var items = PopMark();
                            var list = NewContainer(new List<object?>(items.Count));
                            AddToList(list, items);
                            Push(list);
                            break;
                        }
                    case (byte)'a': // APPEND
                        {
                            var item = Pop();
                            AddToList(PeekList("APPEND"), [item]);
                            break;
                        }
                    case (byte)'e': // APPENDS
                        {
                            var items = PopMark();
                            AddToList(PeekList("APPENDS"), items);
                            break;
                        }
                    case 0x8f: Push(NewContainer(new List<object?>())); break; // EMPTY_SET → list
                    case 0x90: // ADDITEMS
                        {
                            var items = PopMark();
                            AddToList(PeekList("ADDITEMS"), items);
                            break;
                        }
                    case 0x91: // FROZENSET → list
                        {
                            var items = PopMark();
                            var list = NewContainer(new List<object?>(items.Count));
                            AddToList(list, items);
                            Push(list);
                            break;
                        }
                    case (byte)'}': Push(NewContainer(new PickleDict())); break;
                    case (byte)'d':
                        {
                            var items = PopMark();
                            var dict = NewContainer(new PickleDict());
                            SetItems(dict, items);
                            Push(dict);
                            break;
                        }
                    case (byte)'s': // SETITEM
                        {
                            var value = Pop();
                            var key = Pop();
                            SetItems(PeekDict("SETITEM"), [key, value]);
                            break;
                        }
                    case (byte)'u': // SETITEMS
                        {
                            var items = PopMark();
                            SetItems(PeekDict("SETITEMS"), items);
                            break;
                        }

                    default:
                        throw Malformed(op switch
                        {
                            (byte)'i' or (byte)'o' or 0x92 => $"opcode 0x{op:x2} (INST/OBJ/NEWOBJ_EX) builds arbitrary objects and never appears in TorchScript archives",
                            0x82 or 0x83 or 0x84 => "extension-registry opcodes (EXT1/2/4) never appear in TorchScript archives",
                            (byte)'S' => "text STRING opcodes never appear in TorchScript archives",
                            0x96 or 0x97 or 0x98 => "out-of-band buffers (protocol 5) never appear in TorchScript archives",
                            _ => $"unknown opcode 0x{op:x2}",
                        });
                }
            }
        }

        // ---- globals and calls ----

        private GlobalRef ResolveGlobal(string module, string name)
        {
            var display = DisplayName(module, name);
            if (module == "__torch__" || module.StartsWith("__torch__.", StringComparison.Ordinal))
            {
                if (name.Length == 0 || name.Contains('.')) throw Forbidden(display, "which is not a valid TorchScript class name");
                return new GlobalRef(module, name, GlobalKind.TorchClass);
            }
            if (AllowedFunctions.TryGetValue((module, name), out var kind))
                return new GlobalRef(module, name, kind);
            if (module == "torch" && DataTypes.FromStorageName(name) is { } storageType)
                return new GlobalRef(module, name, GlobalKind.Storage, storageType);
            if (module == "torch" && QuantizedStorages.TryGetValue(name, out var quantizedType))
                return new GlobalRef(module, name, GlobalKind.Storage, quantizedType, Quantized: true);
            if (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal))
                throw new ModelForgeException(DiagnosticCode.UnsupportedDtype,
                    $"pickle in {sourceName} holds a tensor storage of type '{display}' (byte {_opStart}), which is not supported",
                    Location, "cast the model to float32 (or another supported dtype) before torch.jit.save");
            throw Forbidden(display, "which a TorchScript archive never contains");
        }

        /// <summary>How users know a global: posix.system / nt.system are what os.system pickles as.</summary>
        private static string DisplayName(string module, string name) => module switch
        {
            "posix" or "nt" => $"os.{name}' (pickled as '{module}.{name}",
            "__builtin__" => $"builtins.{name}' (pickled as '{module}.{name}",
            _ => module + "." + name,
        };

        private object? Reduce(object? callable, object? args)
        {
            if (callable is not GlobalRef global) throw Malformed($"REDUCE calls {Describe(callable)}, which is not a callable global");
            if (args is not PickleTuple tuple) throw Malformed($"REDUCE passes {Describe(args)} to '{global.FullName}' instead of an argument tuple");
            if (global.Kind != GlobalKind.RebuildQTensor || !_quantizerArguments.Contains(tuple)) CheckValue(tuple);
            var a = tuple.Items;
            switch (global.Kind)
            {
                case GlobalKind.RebuildTensorV2 when a.Count is >= 4 and <= 7:
                case GlobalKind.RebuildTensor when a.Count == 4:
                    return RebuildTensor(global, a);
                case GlobalKind.RebuildParameter when a.Count is 3 && a[0] is TensorData data:
                    return data;
                case GlobalKind.RebuildQTensor when a.Count is >= 5 and <= 7:
                    return RebuildQuantizedTensor(global, a);
                case GlobalKind.OrderedDict when a.Count == 0:
                    return NewContainer(new PickleDict());
                case GlobalKind.BuildList when a.Count == 1 && a[0] is List<object?> list:
                    return list;
                case GlobalKind.RestoreTypeTag when a.Count == 2 && a[1] is string:
                    return a[0];
                case GlobalKind.Device when a.Count == 1 && a[0] is string device:
                    return device;
                case GlobalKind.Device when a.Count == 2 && a[0] is string deviceType && a[1] is long index:
                    return $"{deviceType}:{index}";
                case GlobalKind.Set when a.Count == 0:
                    return NewContainer(new List<object?>());
                case GlobalKind.Set when a.Count == 1 && a[0] is List<object?> items:
                    {
                        var copy = NewContainer(new List<object?>(items.Count));
                        AddToList(copy, items);
                        return copy;
                    }
                case GlobalKind.BuildTensorFromId:
                    throw Malformed("'torch.jit._pickle.build_tensor_from_id' refers to an external tensor table, which archives do not have");
                case GlobalKind.TorchClass:
                    throw Forbidden(global.FullName, "a TorchScript class, called with REDUCE; TorchScript objects are only created with NEWOBJ");
                case GlobalKind.Storage:
                    throw Forbidden(global.FullName, "a storage class, called with REDUCE; storages only appear inside persistent ids");
                default:
                    throw Malformed($"'{global.FullName}' is called with unexpected arguments {Describe(tuple)}");
            }
        }

        private PickleObject NewObject(object? cls, object? args)
        {
            if (cls is not GlobalRef global) throw Malformed($"NEWOBJ instantiates {Describe(cls)}, which is not a class");
            if (global.Kind != GlobalKind.TorchClass)
                throw Forbidden(global.FullName, "instantiated with NEWOBJ; only TorchScript (__torch__) classes are");
            if (args is not PickleTuple { Count: 0 })
                throw Malformed($"NEWOBJ passes {Describe(args)} to '{global.FullName}'; TorchScript objects take no constructor arguments");
            return NewContainer(new PickleObject(global.FullName));
        }

        private TensorData RebuildTensor(GlobalRef global, IReadOnlyList<object?> a)
        {
            var where = $"built at byte {_opStart} of {sourceName}";
            if (a[0] is not TensorStorage storage)
                throw Malformed($"'{global.FullName}' expects a storage as its first argument, not {Describe(a[0])}");
            if (global.Kind != GlobalKind.RebuildQTensor && _quantizedStorages.Contains(storage))
                throw Malformed($"'{global.FullName}' rebuilds a plain tensor on the quantized {storage}; quantized storages belong to 'torch._utils._rebuild_qtensor'");
            if (a[1] is not long offset) throw Malformed($"'{global.FullName}' expects an integer storage offset, not {Describe(a[1])}");
            var shape = ToLongs(a[2], global, "sizes");
            var strides = ToLongs(a[3], global, "strides");
            try
            {
                return new TensorData(storage, offset, shape, strides, where);
            }
            catch (ModelForgeException e) when (e.Diagnostics is [{ Location: null } diagnostic])
            {
                throw new ModelForgeException(diagnostic with { Location = Location });
            }
        }

        /// <summary>
        /// <c>_rebuild_qtensor(storage, offset, sizes, strides, quantizer_params, requires_grad, hooks)</c> with the affine
        /// quantizers eager-mode quantization saves: <c>(torch.per_tensor_affine, scale, zero_point)</c> and
        /// <c>(torch.per_channel_affine, scales, zero_points, axis)</c>. Float zero points (embedding bags' qparams) are refused.
        /// </summary>
        private QuantizedTensorData RebuildQuantizedTensor(GlobalRef global, IReadOnlyList<object?> a)
        {
            if (a[0] is not TensorStorage storage || !_quantizedStorages.Contains(storage))
                throw Malformed($"'{global.FullName}' expects a quantized storage (torch.QInt8Storage, QUInt8Storage, QInt32Storage) as its first argument, not {Describe(a[0])}");
            var values = RebuildTensor(global, a);
            var where = $"built at byte {_opStart} of {sourceName}";
            var parameters = a[4] as PickleTuple ?? throw Malformed($"'{global.FullName}' expects a quantizer tuple, not {Describe(a[4])}");
            var scheme = parameters.Count > 0 && parameters[0] is GlobalRef { Kind: GlobalKind.QScheme } s ? s.Name : null;
            try
            {
                return (scheme, parameters.Items) switch
                {
                    ("per_tensor_affine", [_, double scale, long zeroPoint]) => new QuantizedTensorData(values, [scale], [zeroPoint], -1, where),
                    ("per_channel_affine", [_, TensorData scales, TensorData zeroPoints, long axis]) when scales.Shape.Length == 1 && zeroPoints.Shape.Length == 1 =>
                        new QuantizedTensorData(values, scales.ToFloatArray().Select(f => (double)f).ToArray(), zeroPoints.ToInt64Array(),
                            (int)Math.Clamp(axis, -1, int.MaxValue) is var channel and >= 0 ? channel : throw Malformed($"'{global.FullName}' has a negative channel axis {axis}"), where),
                    ("per_channel_affine_float_qparams", _) => throw new ModelForgeException(DiagnosticCode.UnsupportedDtype,
                        $"pickle in {sourceName} holds a quantized tensor with float zero points (torch.per_channel_affine_float_qparams, byte {_opStart}), " +
                        "as quantized embeddings save; only affine qint8/quint8/qint32 tensors (per tensor or per channel) are supported",
                        Location, "keep the embedding in float (qconfig None for it) and quantize the rest"),
                    _ => throw Malformed($"'{global.FullName}' has quantizer parameters {Describe(parameters)}; expected (torch.per_tensor_affine, scale, zero_point) or (torch.per_channel_affine, scales, zero_points, axis)"),
                };
            }
            catch (ModelForgeException e) when (e.Diagnostics is [{ Location: null } diagnostic])
            {
                throw new ModelForgeException(diagnostic with { Location = Location });
            }
        }

        private long[] ToLongs(object? value, GlobalRef global, string what)
        {
            IReadOnlyList<object?> items = value switch
            {
                PickleTuple t => t.Items,
                List<object?> l => l,
                _ => throw Malformed($"'{global.FullName}' expects a tuple of {what}, not {Describe(value)}"),
            };
            var result = new long[items.Count];
            for (var i = 0; i < result.Length; i++)
                result[i] = items[i] is long v ? v : throw Malformed($"'{global.FullName}' got a non-integer {what} entry {Describe(items[i])}");
            return result;
        }

        private TensorStorage PersistentLoad(object? pid)
        {
            if (pid is not PickleTuple { Items: [string tag, var type, var key, var device, var numel] })
                throw Malformed($"persistent id {Describe(pid)} is not a ('storage', type, key, location, numel) tuple");
            if (tag != "storage") throw Malformed($"persistent id of kind '{tag}' is not supported; only 'storage'");
            if (type is not GlobalRef { Kind: GlobalKind.Storage } storageClass)
                throw Malformed($"persistent id names {Describe(type)} instead of a torch storage class");
            if (key is not string keyText || keyText.Length == 0) throw Malformed($"persistent id has storage key {Describe(key)}, not a string");
            if (device is not string) throw Malformed($"persistent id has location {Describe(device)}, not a string");
            if (numel is not long count || count < 0) throw Malformed($"persistent id has element count {Describe(numel)}");
            var storage = loadStorage(keyText, storageClass.StorageType, count)
                ?? throw Malformed($"storage '{keyText}' could not be loaded");
            if (storageClass.Quantized) _quantizedStorages.Add(storage);
            return storage;
        }

        // ---- stack, marks, memo ----

        private void Push(object? value)
        {
            if (_stack.Count >= MaxStackSize) throw Malformed($"more than {MaxStackSize} values on the stack");
            _stack.Add(value);
        }

        private object? Pop()
        {
            var floor = _marks.Count == 0 ? 0 : _marks[^1];
            if (_stack.Count <= floor) throw Malformed("stack underflow");
            var value = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private object? Peek()
        {
            var floor = _marks.Count == 0 ? 0 : _marks[^1];
            if (_stack.Count <= floor) throw Malformed("stack underflow");
            return _stack[^1];
        }

        private List<object?> PopMark()
        {
            if (_marks.Count == 0) throw Malformed("no MARK on the stack");
            var mark = _marks[^1];
            _marks.RemoveAt(_marks.Count - 1);
            var items = _stack.GetRange(mark, _stack.Count - mark);
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }

        private void Memoize(long index)
        {
            if (index < 0) throw Malformed($"negative memo index {index}");
            var value = Peek();
            if (!_memo.ContainsKey(index) && _memo.Count >= MaxMemoSize) throw Malformed($"more than {MaxMemoSize} memo entries");
            _memo[index] = value;
        }

        private object? MemoGet(long index) =>
            _memo.TryGetValue(index, out var value) ? value : throw Malformed($"memo entry {index} is read before it is stored");

        // ---- containers, depth and value checks ----

        private T NewContainer<T>(T container) where T : class
        {
            _depth[container] = 1;
            return container;
        }

        private PickleTuple NewTuple(List<object?> items)
        {
            var tuple = new PickleTuple(items);
            var depth = 1;
            var tainted = false;
            var holdsQuantizer = false;
            foreach (var item in items)
            {
                if (item is GlobalRef) tainted = true;
                else if (item is PickleTuple { Items: [GlobalRef { Kind: GlobalKind.QScheme }, ..] } quantizer && _tainted.Contains(quantizer)) holdsQuantizer = true;
                else CheckValue(item);
                depth = Math.Max(depth, DepthOf(item) + 1);
            }
            if (depth > MaxDepth) throw Malformed($"containers nested deeper than {MaxDepth} levels");
            _depth[tuple] = depth;
            if (tainted) _tainted.Add(tuple);
            if (holdsQuantizer) _quantizerArguments.Add(tuple);
            return tuple;
        }

        private List<object?> PeekList(string op) =>
            Peek() as List<object?> ?? throw Malformed($"{op} on {Describe(Peek())}, which is not a list");

        private PickleDict PeekDict(string op) =>
            Peek() as PickleDict ?? throw Malformed($"{op} on {Describe(Peek())}, which is not a dict");

        private void AddToList(List<object?> list, List<object?> items)
        {
            foreach (var item in items)
            {
                CheckValue(item);
                Grow(list, item);
            }
            list.AddRange(items);
        }

        private void SetItems(PickleDict dict, List<object?> items)
        {
            if (items.Count % 2 != 0) throw Malformed("SETITEMS with an odd number of keys and values");
            for (var i = 0; i < items.Count; i += 2)
            {
                CheckValue(items[i]);
                CheckValue(items[i + 1]);
                if (items[i] is List<object?> or PickleDict or PickleObject or TensorData or byte[])
                    throw Malformed($"dict key {Describe(items[i])} is not hashable");
                Grow(dict, items[i]);
                Grow(dict, items[i + 1]);
                dict.Set(items[i], items[i + 1]);
            }
        }

        private void Grow(object container, object? child)
        {
            var depth = DepthOf(child) + 1;
            if (depth > MaxDepth) throw Malformed($"containers nested deeper than {MaxDepth} levels");
            if (depth > DepthOf(container)) _depth[container] = depth;
        }

        private int DepthOf(object? value) => value is not null && _depth.TryGetValue(value, out var d) ? d : 0;

        /// <summary>Globals are only callables and storage types; they never become values of the result.</summary>
        private void CheckValue(object? value)
        {
            if (value is GlobalRef global)
                throw Forbidden(global.FullName, "used as a value rather than called; a TorchScript archive never does that");
            if (value is PickleTuple quantizerArguments && _quantizerArguments.Contains(quantizerArguments))
                throw Forbidden(quantizerArguments.Items.OfType<PickleTuple>().Select(t => t.Items.FirstOrDefault()).OfType<GlobalRef>().First().FullName,
                    "inside a tuple that is used as a value; quantizer parameters only appear as an argument of 'torch._utils._rebuild_qtensor'");
            if (value is PickleTuple tuple && _tainted.Contains(tuple))
                throw Forbidden(tuple.Items.OfType<GlobalRef>().First().FullName,
                    "inside a tuple that is used as a value; storage classes only appear in persistent ids, and a TorchScript archive never does that");
        }

        // ---- reading ----

        private byte ReadByte(ReadOnlySpan<byte> data)
        {
            if (_pos >= data.Length) throw Truncated();
            return data[_pos++];
        }

        private ReadOnlySpan<byte> Take(ReadOnlySpan<byte> data, long count)
        {
            if (count < 0 || count > data.Length - _pos) throw Truncated();
            var span = data.Slice(_pos, (int)count);
            _pos += (int)count;
            return span;
        }

        private uint ReadUInt32(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadUInt32LittleEndian(Take(data, 4));

        private ulong ReadUInt64(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadUInt64LittleEndian(Take(data, 8));

        private long Length32(ReadOnlySpan<byte> data) => ReadUInt32(data);

        private long Length64(ReadOnlySpan<byte> data)
        {
            var n = ReadUInt64(data);
            return n > (ulong)(data.Length - _pos) ? throw Truncated() : (long)n;
        }

        private string ReadLine(ReadOnlySpan<byte> data, int maxLength) => DecodeUtf8(ReadLineBytes(data, maxLength));

        private ReadOnlySpan<byte> ReadLineBytes(ReadOnlySpan<byte> data, int maxLength)
        {
            var rest = data[_pos..];
            var end = rest.IndexOf((byte)'\n');
            if (end < 0) throw Truncated();
            if (end > maxLength) throw Malformed($"an argument line of {end} bytes is longer than the {maxLength} allowed");
            _pos += end + 1;
            var line = rest[..end];
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            return line;
        }

        private ModelForgeException Truncated() => Malformed("the pickle ends in the middle of an opcode (truncated)");

        private string DecodeUtf8(ReadOnlySpan<byte> bytes)
        {
            try
            {
                return StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw Malformed("a string is not valid UTF-8");
            }
        }

        private long ParseLong(string text) =>
            long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw Malformed($"'{Shorten(text)}' is not an integer");

        private object ParseInteger(string text)
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
            if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return big;
            throw Malformed($"'{Shorten(text)}' is not an integer");
        }

        private static object DecodeLong(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length == 0) return 0L;
            var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
            return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big;
        }

        private string DecodeRawUnicodeEscape(string text)
        {
            if (!text.Contains('\\')) return text;
            var builder = new StringBuilder(text.Length);
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is 'u' or 'U')
                {
                    var digits = text[i + 1] == 'u' ? 4 : 8;
                    if (i + 2 + digits > text.Length ||
                        !int.TryParse(text.AsSpan(i + 2, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code) ||
                        code < 0 || code > 0x10FFFF)
                        throw Malformed("UNICODE string has a bad \\u escape");
                    builder.Append(char.ConvertFromUtf32(code));
                    i += 1 + digits;
                }
                else
                {
                    builder.Append(text[i]);
                }
            }
            return builder.ToString();
        }

        private static string Describe(object? value) => value switch
        {
            GlobalRef g => $"the global '{g.FullName}'",
            _ => PickleFormat.Short(value),
        };

        private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
    }
}
