using System.Numerics;
using System.Text;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Archive;
using ModelForge.TorchScript.Pickle;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Pickle;

public sealed class TorchUnpicklerTests
{
    /// <summary>Pickle bytes from a string whose chars are bytes (write them as \u00XX: C#'s \x is variable-length).</summary>
    private static byte[] P(string latin1) => Encoding.Latin1.GetBytes(latin1);

    private static readonly Func<string, DataType, long, TensorStorage> NoStorage =
        (key, _, _) => throw new InvalidOperationException($"storage {key} must not be loaded");

    /// <summary>Storages of float32 0, 1, 2, … (numel elements).</summary>
    private static TensorStorage Iota(string key, DataType type, long numel)
    {
        var bytes = new byte[numel * type.SizeInBytes()];
        for (var i = 0; i < numel; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), (float)i);
        return new TensorStorage(key, type, numel, bytes);
    }

    /// <summary>Like <see cref="Iota"/>, but refuses absurd sizes the way a real archive would (fuzzed pickles ask for them).</summary>
    private static TensorStorage BoundedIota(string key, DataType type, long numel) =>
        numel is >= 0 and <= 1 << 20 ? Iota(key, type, numel)
            : throw new ModelForgeException(DiagnosticCode.TensorStorageInvalid, $"storage {key} of {numel} elements");

    private static object? Load(byte[] pickle, Func<string, DataType, long, TensorStorage>? storages = null) =>
        TorchUnpickler.Load(pickle, "test.pkl", storages ?? NoStorage);

    private static ModelForgeException Refused(DiagnosticCode code, byte[] pickle, Func<string, DataType, long, TensorStorage>? storages = null) =>
        Throws(code, () => Load(pickle, storages));

    // Python: pickle.dumps({'a': [1, -2, 3.5, 'sé', None, True, False, (1,), (1,2), (1,2,3), (), 2**70, -2**63, 255, 65535, 65536, -1],
    //                       't': (1,2,3,4), 'set': {7}, 'od': collections.OrderedDict([('x',1)])}, protocol=p).hex()
    [Theory]
    [InlineData("286470300a56610a70310a286c70320a49310a61492d320a6146332e350a615673e90a70330a614e614930310a614930300a612849310a7470340a612849310a49320a7470350a612849310a49320a49330a7470360a612874614c313138303539313632303731373431313330333432344c0a614c2d393232333337323033363835343737353830384c0a61493235350a614936353533350a614936353533360a61492d310a617356740a70370a2849310a49320a49330a49340a7470380a73567365740a70390a635f5f6275696c74696e5f5f0a7365740a7031300a28286c7031310a49370a61747031320a527031330a73566f640a7031340a63636f6c6c656374696f6e730a4f726465726564446963740a7031350a2874527031360a56780a7031370a49310a73732e")]
    [InlineData("80027d71002858010000006171015d7102284b014afeffffff47400c000000000000580300000073c3a971034e88894b018571044b014b028671054b014b024b03877106298a090000000000000000408a0800000000000000804bff4dffff4a000001004affffffff655801000000747107284b014b024b034b0474710858030000007365747109635f5f6275696c74696e5f5f0a7365740a710a5d710b4b076185710c52710d58020000006f64710e63636f6c6c656374696f6e730a4f726465726564446963740a710f2952711058010000007871114b0173752e")]
    [InlineData("800495a5000000000000007d94288c0161945d94284b014afeffffff47400c0000000000008c0373c3a9944e88894b0185944b014b0286944b014b024b038794298a090000000000000000408a0800000000000000804bff4dffff4a000001004affffffff658c017494284b014b024b034b0474948c03736574948f94284b07908c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0178944b0173752e")]
    public void Python_values_in_protocols_0_2_4(string hex)
    {
        var dict = Assert.IsType<PickleDict>(Load(System.Convert.FromHexString(hex)));
        Assert.Equal(["a", "t", "set", "od"], dict.Keys);
        var a = Assert.IsType<List<object?>>(dict["a"]);
        Assert.Equal(1L, a[0]);
        Assert.Equal(-2L, a[1]);
        Assert.Equal(3.5, a[2]);
        Assert.Equal("sé", a[3]);
        Assert.Null(a[4]);
        Assert.Equal(true, a[5]);
        Assert.Equal(false, a[6]);
        Assert.Equal([1L], Assert.IsType<PickleTuple>(a[7]).Items);
        Assert.Equal([1L, 2L], Assert.IsType<PickleTuple>(a[8]).Items);
        Assert.Equal([1L, 2L, 3L], Assert.IsType<PickleTuple>(a[9]).Items);
        Assert.Empty(Assert.IsType<PickleTuple>(a[10]).Items);
        Assert.Equal(BigInteger.Pow(2, 70), a[11]);
        Assert.Equal(long.MinValue, a[12]);
        Assert.Equal(new object?[] { 255L, 65535L, 65536L, -1L }, a.Skip(13));
        Assert.Equal([1L, 2L, 3L, 4L], Assert.IsType<PickleTuple>(dict["t"]).Items);
        Assert.Equal([7L], Assert.IsType<List<object?>>(dict["set"]));
        var od = Assert.IsType<PickleDict>(dict["od"]);
        Assert.Equal(1L, od["x"]);
    }

    [Fact]
    public void Bytes_and_frozensets()
    {
        // pickle.dumps({'b': b'xy'}, protocol=3) and pickle.dumps(frozenset([2]), protocol=2)
        var dict = Assert.IsType<PickleDict>(Load(P("\u0080\u0003}q\u0000X\u0001\u0000\u0000\u0000bq\u0001C\u0002xyq\u0002s.")));
        Assert.Equal("xy"u8.ToArray(), dict["b"]);
        Assert.Equal([2L], Assert.IsType<List<object?>>(Load(P("\u0080\u0002c__builtin__\nfrozenset\nq\u0000]q\u0001K\u0002a\u0085q\u0002Rq\u0003."))));
    }

    [Fact]
    public void Dicts_keep_insertion_order_and_replace_in_place()
    {
        // {'b': 1, 'a': 2, 'b': 3} built with SETITEMS: 'b' keeps its first position.
        var dict = Assert.IsType<PickleDict>(Load(P("\u0080\u0002}(X\u0001\u0000\u0000\u0000bK\u0001X\u0001\u0000\u0000\u0000aK\u0002X\u0001\u0000\u0000\u0000bK\u0003u.")));
        Assert.Equal(["b", "a"], dict.Keys);
        Assert.Equal(3L, dict["b"]);
        Assert.False(dict.TryGetValue("c", out _));
        Assert.Throws<KeyNotFoundException>(() => dict["c"]);
    }

    private const string RebuildV2 = "ctorch._utils\n_rebuild_tensor_v2\n";
    private static string StoragePid(string key, int numel, string type = "FloatStorage") =>
        $"((X\u0007\u0000\u0000\u0000storagectorch\n{type}\nX{(char)key.Length}\u0000\u0000\u0000{key}X\u0003\u0000\u0000\u0000cpuK{(char)numel}tQ";

    /// <summary>_rebuild_tensor_v2(storage(numel), offset, sizes, strides, False, OrderedDict()) for small non-negative ints.</summary>
    private static string Tensor(int numel, int offset, int[] sizes, int[] strides) =>
        RebuildV2 + StoragePid("0", numel) + $"K{(char)offset}" + Ints(sizes) + Ints(strides)
        + "\u0089ccollections\nOrderedDict\n)RtR";

    private static string Ints(int[] values) => "(" + string.Concat(values.Select(v => $"K{(char)v}")) + "t";

    [Fact]
    public void Tensors_are_rebuilt_over_the_loaded_storage()
    {
        var t = Assert.IsType<TensorData>(Load(P("\u0080\u0002" + Tensor(6, 1, [2, 2], [1, 2]) + "."), Iota));
        Assert.Equal([2L, 2], t.Shape);
        Assert.Equal([1L, 2], t.Strides);
        Assert.Equal(1, t.StorageOffset);
        Assert.False(t.IsContiguous);
        Assert.Equal([1f, 3, 2, 4], t.ToFloatArray());

        // _rebuild_parameter(tensor, requires_grad, hooks) is the tensor; a 0-d tensor has one element.
        var p = Assert.IsType<TensorData>(Load(P("\u0080\u0002ctorch._utils\n_rebuild_parameter\n(" + Tensor(3, 2, [], []) + "\u0088ccollections\nOrderedDict\n)RtR."), Iota));
        Assert.Equal([2f], p.ToFloatArray());
    }

    [Fact]
    public void The_same_key_resolves_through_the_callback_each_time()
    {
        var calls = new List<string>();
        TensorStorage Counting(string key, DataType type, long numel)
        {
            calls.Add(key);
            return Iota(key, type, numel);
        }
        var list = Assert.IsType<List<object?>>(Load(P("\u0080\u0002](" + Tensor(4, 0, [2], [1]) + Tensor(4, 2, [2], [1]) + "e."), Counting));
        Assert.Equal(2, list.Count);
        Assert.Equal(["0", "0"], calls);
    }

    [Theory]
    [InlineData(6, 5, new[] { 2 }, new[] { 1 })]      // offset 5 + 1 reaches element 6 of 6
    [InlineData(6, 0, new[] { 2, 3 }, new[] { 3, 2 })] // strides reach past the end
    public void Tensors_reaching_past_their_storage_are_MF1012(int numel, int offset, int[] sizes, int[] strides)
    {
        var e = Refused(DiagnosticCode.TensorStorageInvalid, P("\u0080\u0002" + Tensor(numel, offset, sizes, strides) + "."), Iota);
        Assert.Contains("test.pkl", e.Message);
    }

    [Fact]
    public void Negative_sizes_and_strides_are_MF1012()
    {
        // sizes (-1,) via BININT
        var negativeSize = RebuildV2 + StoragePid("0", 4) + "K\u0000(J\u00ff\u00ff\u00ff\u00fft(K\u0001t\u0089ccollections\nOrderedDict\n)RtR.";
        Refused(DiagnosticCode.TensorStorageInvalid, P("\u0080\u0002" + negativeSize), Iota);
        var negativeStride = RebuildV2 + StoragePid("0", 4) + "K\u0003(K\u0002t(J\u00ff\u00ff\u00ff\u00fft\u0089ccollections\nOrderedDict\n)RtR.";
        Refused(DiagnosticCode.TensorStorageInvalid, P("\u0080\u0002" + negativeStride), Iota);
    }

    [Fact]
    public void Storage_bytes_must_match_the_element_count()
    {
        Refused(DiagnosticCode.TensorStorageInvalid, P("\u0080\u0002" + Tensor(4, 0, [4], [1]) + "."),
            (key, type, numel) => new TensorStorage(key, type, numel, new byte[numel * 4 - 1]));
    }

    [Theory]
    [InlineData("builtins", "eval")]
    [InlineData("subprocess", "Popen")]
    [InlineData("os", "system")]
    [InlineData("torch", "load")]
    [InlineData("torch._utils", "_rebuild_device_tensor_from_numpy")]
    public void Forbidden_globals_are_refused_before_anything_runs(string module, string name)
    {
        var pickle = P($"\u0080\u0002c{module}\n{name}\nX\u0002\u0000\u0000\u0000id\u0085R.");
        var e = Refused(DiagnosticCode.PickleForbiddenGlobal, pickle);
        Assert.Contains($"'{module}.{name}'", e.Message);
        Assert.Contains("test.pkl", e.Message);
        Assert.Contains("byte 2", e.Message);
    }

    [Fact]
    public void Posix_system_is_named_as_os_system()
    {
        // What pickle.dumps of a __reduce__ returning os.system writes on Linux.
        var e = Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002cposix\nsystem\nX\u0002\u0000\u0000\u0000id\u0085R."));
        Assert.Contains("os.system", e.Message);
    }

    [Fact]
    public void Stack_global_is_checked_too()
    {
        // protocol 4: 'builtins' 'eval' STACK_GLOBAL
        var e = Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0004\u008c\u0008builtins\u0094\u008c\u0004eval\u0094\u0093\u0094)R."));
        Assert.Contains("builtins.eval", e.Message);
    }

    [Fact]
    public void A_forbidden_global_nested_in_an_allowed_call_is_refused()
    {
        // _rebuild_tensor_v2(os.system('id'), ...): the inner GLOBAL is refused before either REDUCE runs.
        var inner = "cos\nsystem\nX\u0002\u0000\u0000\u0000id\u0085R";
        var e = Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002" + RebuildV2 + "(" + inner + "K\u0000(t(t\u0089ccollections\nOrderedDict\n)RtR."));
        Assert.Contains("os.system", e.Message);
        // restore_type_tag(eval, 'x'): the allowed function would just return its argument.
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002ctorch.jit._pickle\nrestore_type_tag\ncbuiltins\neval\nX\u0001\u0000\u0000\u0000x\u0086R."));
    }

    [Fact]
    public void Allowed_globals_cannot_escape_as_values_or_be_misused()
    {
        // An allowed global returned as a value (restore_type_tag(OrderedDict, 'x')).
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002ctorch.jit._pickle\nrestore_type_tag\nccollections\nOrderedDict\nX\u0001\u0000\u0000\u0000x\u0086R."));
        // ... or as the result.
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002ccollections\nOrderedDict\n."));
        // A storage class inside a list.
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002]ctorch\nFloatStorage\na."));
        // A __torch__ class called with REDUCE instead of NEWOBJ.
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002c__torch__.m\nM\n)R."));
        // NEWOBJ on a function.
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002ccollections\nOrderedDict\n)\u0081."));
        // A persistent-id tuple (it holds a storage class) used as a value.
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002](X\u0007\u0000\u0000\u0000storagectorch\nFloatStorage\nX\u0001\u0000\u0000\u00000X\u0003\u0000\u0000\u0000cpuK\u0001ta."));
    }

    // ---- quantized tensors: _rebuild_qtensor(storage, offset, sizes, strides, quantizer, requires_grad, hooks) ----

    /// <summary>Storages for the quantized cases: "q" int8 0, 1, 2, …; "s" float64 scales 0.5, 0.25; "z" int64 zero points 0, 0.</summary>
    private static TensorStorage QuantizedStorages(string key, DataType type, long numel)
    {
        var bytes = new byte[numel * type.SizeInBytes()];
        for (var i = 0; i < numel; i++)
        {
            if (type == DataType.Float64) BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), 0.5 / (i + 1));
            else if (type is DataType.Int8 or DataType.UInt8) bytes[i] = (byte)i;
        }
        return new TensorStorage(key, type, numel, bytes);
    }

    private static string Tensor(string key, string type, int numel, int[] sizes) =>
        RebuildV2 + StoragePid(key, numel, type) + "K\u0000" + Ints(sizes) + Ints([.. sizes.Skip(1), 1]) + "\u0089ccollections\nOrderedDict\n)RtR";

    private static string QTensor(string quantizer, string storage = "QInt8Storage") =>
        "ctorch._utils\n_rebuild_qtensor\n" + StoragePid("q", 4, storage) + "K\u0000" + Ints([2, 2]) + Ints([2, 1]) + quantizer
        + "\u0089ccollections\nOrderedDict\n)RtR";

    private const string PerTensor = "(ctorch\nper_tensor_affine\nG\u003f\u00e0\u0000\u0000\u0000\u0000\u0000\u0000K\u0003t"; // (scheme, 0.5, 3)

    private static string PerChannel(int channels = 2, int axis = 0) =>
        "(ctorch\nper_channel_affine\n" + Tensor("s", "DoubleStorage", channels, [channels]) + Tensor("z", "LongStorage", channels, [channels]) + $"K{(char)axis}t";

    [Fact]
    public void Quantized_tensors_per_tensor_and_per_channel_keep_their_integers_and_quantizer()
    {
        var perTensor = Assert.IsType<QuantizedTensorData>(Load(P("\u0080\u0002" + QTensor(PerTensor) + "."), QuantizedStorages));
        Assert.Equal(DataType.Int8, perTensor.Values.DataType);
        Assert.Equal([2L, 2], perTensor.Shape);
        Assert.Equal([0.5], perTensor.Scales);
        Assert.Equal([3L], perTensor.ZeroPoints);
        Assert.Equal(-1, perTensor.Axis);
        Assert.Equal([0, 1, 2, 3], perTensor.Values.ContiguousBytes().ToArray());

        var perChannel = Assert.IsType<QuantizedTensorData>(Load(P("\u0080\u0002" + QTensor(PerChannel(), "QUInt8Storage") + "."), QuantizedStorages));
        Assert.Equal(DataType.UInt8, perChannel.Values.DataType);
        Assert.Equal([0.5, 0.25], perChannel.Scales);
        Assert.Equal([0L, 0], perChannel.ZeroPoints);
        Assert.Equal(0, perChannel.Axis);
    }

    [Fact]
    public void Quantized_tensors_with_float_zero_points_stay_MF1013()
    {
        var floatQParams = "(ctorch\nper_channel_affine_float_qparams\n" + Tensor("s", "DoubleStorage", 2, [2]) + Tensor("s", "DoubleStorage", 2, [2]) + "K\u0000t";
        var e = Refused(DiagnosticCode.UnsupportedDtype, P("\u0080\u0002" + QTensor(floatQParams) + "."), QuantizedStorages);
        Assert.Contains("float zero points", e.Message);
        Assert.Contains("per_channel_affine_float_qparams", e.Message);
    }

    [Fact]
    public void Malformed_or_hostile_quantized_tensors_are_refused()
    {
        // A quantized storage rebuilt as a plain tensor, and a quantized tensor over a float storage.
        Refused(DiagnosticCode.PickleMalformed, P("\u0080\u0002" + Tensor("q", "QInt8Storage", 4, [4]) + "."), QuantizedStorages);
        Refused(DiagnosticCode.PickleMalformed, P("\u0080\u0002" + QTensor(PerTensor, "FloatStorage") + "."), Iota);
        // A quantizer whose parameters are not (scheme, float, int), or that names no scheme.
        Refused(DiagnosticCode.PickleMalformed, P("\u0080\u0002" + QTensor("(ctorch\nper_tensor_affine\nX\u0001\u0000\u0000\u0000xK\u0003t") + "."), QuantizedStorages);
        Refused(DiagnosticCode.PickleMalformed, P("\u0080\u0002" + QTensor("(K\u0001K\u0003t") + "."), QuantizedStorages);
        // Three scales for two channels, a channel axis past the rank, a scale that is not positive.
        Refused(DiagnosticCode.TensorStorageInvalid, P("\u0080\u0002" + QTensor(PerChannel(channels: 3)) + "."), QuantizedStorages);
        Refused(DiagnosticCode.TensorStorageInvalid, P("\u0080\u0002" + QTensor(PerChannel(axis: 5)) + "."), QuantizedStorages);
        Refused(DiagnosticCode.TensorStorageInvalid, P("\u0080\u0002" + QTensor(PerTensor.Replace("G\u003f", "G\u00bf")) + "."), QuantizedStorages);
        // The quantizer's scheme, or an argument tuple holding a quantizer, used as a value instead of rebuilding a tensor.
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002]" + PerTensor + "a."), QuantizedStorages);
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002](K\u0000" + PerTensor + "ta."), QuantizedStorages);
        Refused(DiagnosticCode.PickleForbiddenGlobal, P("\u0080\u0002ctorch\nper_tensor_affine\n."), QuantizedStorages);
    }

    [Fact]
    public void TorchScript_objects_get_class_name_and_state()
    {
        var obj = Assert.IsType<PickleObject>(Load(P("\u0080\u0002c__torch__.torchvision.models.resnet\nResNet\nq\u0000)\u0081}(X\u0008\u0000\u0000\u0000training\u0089ub.")));
        Assert.Equal("__torch__.torchvision.models.resnet.ResNet", obj.ClassName);
        Assert.Equal(false, Assert.IsType<PickleDict>(obj.State)["training"]);
        Assert.True(obj.TryGetAttribute("training", out _));
        // torch.jit._pickle helpers and torch.device
        Assert.Equal([1L, 2L], Assert.IsType<List<object?>>(Load(P("\u0080\u0002ctorch.jit._pickle\nbuild_intlist\n](K\u0001K\u0002e\u0085R."))));
        Assert.Equal("cuda:1", Load(P("\u0080\u0002ctorch\ndevice\nX\u0004\u0000\u0000\u0000cudaK\u0001\u0086R.")));
    }

    [Theory]
    [InlineData("\u0080\u0002h\u0005.", "memo entry 5")]               // memo miss
    [InlineData("\u0080\u0002a.", "underflow")]                       // APPEND on an empty stack
    [InlineData("\u0080\u0002(K\u0001a.", "underflow")]              // APPEND cannot reach below a MARK
    [InlineData("\u0080\u0002\u00ff.", "0xff")]                       // unknown opcode
    [InlineData("\u0080\u0002t.", "MARK")]                            // TUPLE without MARK
    [InlineData("\u0080\u0002K\u0000K\u0001K\u0002s.", "not a dict")]        // SETITEM on an int
    [InlineData("\u0080\u0002N", "STOP")]                             // no STOP
    [InlineData("\u0080\u0002X\u00ff\u00ff\u00ff\u0000ab.", "truncated")] // string longer than the input
    [InlineData("\u0080\u0002N)b.", "BUILD")]                         // BUILD on None
    [InlineData("\u0080\u0002ccollections\nOrderedDict\nK\u0001\u0085R.", "unexpected arguments")]
    [InlineData("\u0080\u0002cos\u0093", "truncated")]                // GLOBAL without newline
    [InlineData("\u0080\u0002(lp0\n}(g0\nK\u0001u.", "not hashable")] // list as a dict key
    [InlineData("\u0080\u0002i\n", "INST")]
    public void Malformed_pickles_are_MF1011_with_the_offset(string pickle, string fragment)
    {
        var e = Refused(DiagnosticCode.PickleMalformed, P(pickle));
        Assert.Contains(fragment, e.Message);
        Assert.Contains("at byte ", e.Message);
    }

    [Fact]
    public void Deep_nesting_is_MF1011()
    {
        var tuples = "\u0080\u0002N" + new string('\u0085', TorchUnpickler.MaxDepth + 5) + ".";
        Assert.Contains("nested", Refused(DiagnosticCode.PickleMalformed, P(tuples)).Message);
        var marks = "\u0080\u0002" + new string('(', TorchUnpickler.MaxDepth + 5) + ".";
        Assert.Contains("MARK", Refused(DiagnosticCode.PickleMalformed, P(marks)).Message);
        // lists appended into each other: ] ] ] ... a a a
        var nested = "\u0080\u0002" + string.Concat(Enumerable.Repeat("]", TorchUnpickler.MaxDepth + 5)) + string.Concat(Enumerable.Repeat("a", TorchUnpickler.MaxDepth + 4)) + ".";
        Assert.Contains("nested", Refused(DiagnosticCode.PickleMalformed, P(nested)).Message);
        // Shallow enough is fine.
        Assert.IsType<PickleTuple>(Load(P("\u0080\u0002N" + new string('\u0085', 100) + ".")));
    }

    [Fact]
    public void Every_prefix_of_a_real_data_pkl_is_MF1011()
    {
        using var archive = TorchScriptArchive.Open(Fixture("v1x_small.pt"));
        var bytes = archive.Read("data.pkl").ToArray();
        Assert.NotNull(archive.LoadPickle("data.pkl"));
        for (var length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes[..length];
            var e = Assert.Throws<ModelForgeException>(() => TorchUnpickler.Load(prefix, "data.pkl", BoundedIota));
            Assert.True(e.Code == DiagnosticCode.PickleMalformed, $"prefix {length}: {e.Message}");
        }
    }

    [Fact]
    public void Corrupted_real_pickles_never_throw_other_exceptions()
    {
        using var archive = TorchScriptArchive.Open(Fixture("v1x_small.pt"));
        var bytes = archive.Read("data.pkl").ToArray();
        var random = new Random(42);
        for (var round = 0; round < 2000; round++)
        {
            var copy = (byte[])bytes.Clone();
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
            try
            {
                TorchUnpickler.Load(copy, "data.pkl", BoundedIota);
            }
            catch (ModelForgeException)
            {
            }
        }
    }
}
