using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Recurrent layers: lstm, gru, rnn_tanh/rnn_relu (nn.RNN), also on packed sequences, one LSTM step (lstm_cell), and
// packing and unpacking sequences (_pack_padded_sequence, _pad_packed_sequence).

/// <summary>
/// <c>lstm(input, [h0, c0], params, has_biases, num_layers, dropout, train, bidirectional, batch_first)</c>
/// → one ONNX LSTM per layer, returning <c>(output, h_n, c_n)</c>. The flattened weights list holds, per layer
/// and direction, <c>w_ih, w_hh[, b_ih, b_hh]</c>; PyTorch stacks the gates i, f, g, o and ONNX i, o, f, c, so
/// the weights are reordered at conversion time. Dropout between layers is a training-time op and is ignored.
/// A packed sequence (<c>lstm(data, batch_sizes, [h0, c0], params, …)</c>) runs as its padded form (<see cref="Packed"/>).
/// </summary>
[AtenOp("aten::lstm")]
internal static class Lstm
{
    // PyTorch gate blocks i, f, g, o → ONNX i, o, f, c.
    private static readonly int[] GateOrder = [0, 3, 1, 2];

    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var state = a.Tensors(Packed.IsPacked(a) ? 2 : 1);
        var result = Recurrence.Lower(c, a, "LSTM", GateOrder, [state[0], state[1]]);
        return new Interpret.TupleValue([result.Output, result.FinalStates[0], result.FinalStates[1]]);
    }
}

/// <summary>
/// <c>gru(input, h0, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)</c> → one ONNX
/// GRU per layer with <c>linear_before_reset=1</c> (PyTorch applies the reset gate after the hidden projection),
/// returning <c>(output, h_n)</c>. PyTorch stacks the gates r, z, n and ONNX z, r, h.
/// </summary>
[AtenOp("aten::gru")]
internal static class Gru
{
    private static readonly int[] GateOrder = [1, 0, 2];

    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var result = Recurrence.Lower(c, a, "GRU", GateOrder, [a.Tensor(Packed.IsPacked(a) ? 2 : 1)]);
        return new Interpret.TupleValue([result.Output, result.FinalStates[0]]);
    }
}

/// <summary>
/// <c>rnn_tanh</c>/<c>rnn_relu(input, h0, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)</c>
/// (nn.RNN) → one ONNX RNN per layer with the Tanh or Relu activation, returning <c>(output, h_n)</c>; one gate, so no
/// reordering.
/// </summary>
[AtenOp("aten::rnn_tanh", "aten::rnn_relu")]
internal static class Rnn
{
    private static readonly int[] GateOrder = [0];

    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var result = Recurrence.Lower(c, a, "RNN", GateOrder, [a.Tensor(Packed.IsPacked(a) ? 2 : 1)]);
        return new Interpret.TupleValue([result.Output, result.FinalStates[0]]);
    }
}

/// <summary>
/// <c>lstm_cell(input, [hx, cx], w_ih, w_hh, b_ih, b_hh)</c>, one LSTM step (what scripted nn.LSTMCell code calls),
/// returning <c>(hy, cy)</c>: the gate pre-activations input·w_ihᵀ + b_ih + hx·w_hhᵀ + b_hh split into i, f, g, o;
/// cy = σ(f)·cx + σ(i)·tanh(g), hy = σ(o)·tanh(cy).
/// </summary>
[AtenOp("aten::lstm_cell")]
internal static class LstmCell
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var state = a.Tensors(1, "hx");
        var (hx, cx) = (state[0], state[1]);
        var fromInput = (Value)Aten.Call(c, "aten::linear", a.Tensor(0), a.Tensor(2, "w_ih"), a.OptionalTensor(4, "b_ih"))!;
        var fromState = (Value)Aten.Call(c, "aten::linear", hx, a.Tensor(3, "w_hh"), a.OptionalTensor(5, "b_hh"))!;
        var gates = c.Op("Add", [fromInput, fromState], fromInput.Type);
        var hidden = a.Tensor(3).Type.Shape![1].Value!.Value;
        var blocks = c.OpMulti("Split", [gates, c.ConstInt64([hidden, hidden, hidden, hidden])], [.. Enumerable.Repeat(cx.Type, 4)], ("axis", -1));
        Value Gate(int block, string activation) => c.Op(activation, [blocks[block]], cx.Type);
        var cy = c.Op("Add", [c.Op("Mul", [Gate(1, "Sigmoid"), cx], cx.Type), c.Op("Mul", [Gate(0, "Sigmoid"), Gate(2, "Tanh")], cx.Type)], cx.Type);
        var hy = c.Op("Mul", [Gate(3, "Sigmoid"), c.Op("Tanh", [cy], cx.Type)], cx.Type);
        return new Interpret.TupleValue([hy, cy]);
    }
}

/// <summary>The layer stacking shared by LSTM, GRU and RNN: layouts, weight packing, initial and final states.</summary>
internal static class Recurrence
{
    public sealed record Result(Value Output, IReadOnlyList<Value> FinalStates);

    public static Result Lower(OpContext c, OpArgs a, string onnxOp, int[] gateOrder, IReadOnlyList<Value> initialStates)
    {
        if (Packed.IsPacked(a))
        {
            // The .data overload: (data, batch_sizes, state, params, has_biases, num_layers, dropout, train, bidirectional).
            var (padded, valid, lengths) = Packed.Unpack(c, a.Tensor(0), a.Tensor(1), padding: 0);
            var unpacked = new OpArgs(c, [padded, .. a.Positional.Skip(2), false], a.Keywords);
            var result = Lower(c, unpacked, onnxOp, gateOrder, initialStates, lengths);
            return result with { Output = Packed.Pack(c, result.Output, valid) };
        }
        return Lower(c, a, onnxOp, gateOrder, initialStates, sequenceLengths: null);
    }

    /// <param name="sequenceLengths">per batch entry, the steps that count (ONNX's sequence_lens): the final states are
    /// those of each sequence's last step, backwards from it.</param>
    private static Result Lower(OpContext c, OpArgs a, string onnxOp, int[] gateOrder, IReadOnlyList<Value> initialStates, Value? sequenceLengths)
    {
        var input = a.Tensor(0);
        var weights = a.Tensors(2);
        var hasBiases = a.Bool(3, "has_biases");
        var layers = (int)a.Int(4, "num_layers");
        var directions = a.Bool(7, "bidirectional") ? 2 : 1;
        var batchFirst = a.Bool(8, "batch_first");
        var perDirection = hasBiases ? 4 : 2;
        if (input.Type.Rank != 3)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} on an unbatched {input.Type} input is not supported",
                "give the recurrent layer a batched [seq, batch, feature] (or batch_first) input");
        if (weights.Count != layers * directions * perDirection)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant,
                $"{c.OpName} got {weights.Count} weight tensors for {layers} layer(s) × {directions} direction(s); " +
                "only the plain layout (w_ih, w_hh, b_ih, b_hh) is supported, not LSTM proj_size",
                "remove proj_size, or report the model so projected LSTMs can be added");

        var hidden = weights[1].Type.Shape![1];
        var sequence = batchFirst ? Permute.Lower(c, input, [1, 0, 2]) : input;
        var (seqLen, batch) = (sequence.Type.Shape![0], sequence.Type.Shape![1]);
        var finals = initialStates.Select(_ => new List<Value>()).ToList();
        for (var layer = 0; layer < layers; layer++)
        {
            var layerWeights = weights.Skip(layer * directions * perDirection).Take(directions * perDirection).ToList();
            var w = Pack(c, Enumerable.Range(0, directions).Select(d => layerWeights[d * perDirection]).ToList(), gateOrder, "W");
            var r = Pack(c, Enumerable.Range(0, directions).Select(d => layerWeights[d * perDirection + 1]).ToList(), gateOrder, "R");
            var b = hasBiases
                ? Pack(c, Enumerable.Range(0, directions).SelectMany(d => new[] { layerWeights[d * perDirection + 2], layerWeights[d * perDirection + 3] }).ToList(),
                       gateOrder, "B", pairsPerRow: 2)
                : null;
            var states = initialStates.Select(s => (Value?)LayerSlice(c, s, layer, directions)).ToList();
            var stateType = sequence.Type.WithShape([directions, batch, hidden]);
            var outputTypes = new List<TensorType> { sequence.Type.WithShape([seqLen, directions, batch, hidden]) };
            outputTypes.AddRange(initialStates.Select(_ => stateType));
            Value?[] inputs = [sequence, w, r, b, sequenceLengths is null ? null : c.Cast(sequenceLengths, DataType.Int32), .. states];
            var attributes = new List<(string, AttributeValue)>
            {
                ("hidden_size", hidden.Value!.Value), ("direction", directions == 2 ? "bidirectional" : "forward"),
            };
            if (onnxOp == "GRU") attributes.Add(("linear_before_reset", 1));
            if (c.OpName == "aten::rnn_relu") attributes.Add(("activations", Enumerable.Repeat("Relu", directions).ToArray()));
            var outputs = c.OpMulti(onnxOp, inputs, outputTypes, [.. attributes]);
            // Y [seq, directions, batch, hidden] → [seq, batch, directions·hidden], the next layer's input.
            var y = Permute.Lower(c, outputs[0], [0, 2, 1, 3]);
            sequence = c.Op("Reshape", [y, c.ConstInt64([0, 0, -1])], y.Type.WithShape([seqLen, batch, directions * hidden.Value!.Value]));
            for (var i = 0; i < finals.Count; i++) finals[i].Add(outputs[i + 1]);
        }
        var output = batchFirst ? Permute.Lower(c, sequence, [1, 0, 2]) : sequence;
        var finalType = sequence.Type.WithShape([layers * directions, batch, hidden]);
        return new Result(output, finals.Select(f => f.Count == 1 ? f[0] : c.Op("Concat", f, finalType, ("axis", 0))).ToList());
    }

    /// <summary>The initial states of one layer: rows [layer·directions, (layer+1)·directions) of h0/c0.</summary>
    private static Value LayerSlice(OpContext c, Value state, int layer, int directions)
    {
        var rows = state.Type.Shape![0];
        if (rows.Value == directions) return state;
        var shape = state.Type.Shape!.ToArray();
        shape[0] = directions;
        return c.Op("Slice", [state, c.ConstInt64([layer * directions]), c.ConstInt64([(layer + 1) * directions]), c.ConstInt64([0])],
            state.Type.WithShape(shape));
    }

    /// <summary>
    /// Stacks one weight per direction into ONNX's [directions, gates·hidden, …] layout, reordering the gate
    /// blocks. With <paramref name="pairsPerRow"/> 2 (biases), each direction's b_ih and b_hh are concatenated:
    /// ONNX's B is [Wb, Rb] per direction.
    /// </summary>
    private static Value Pack(OpContext c, IReadOnlyList<Value> tensors, int[] gateOrder, string name, int pairsPerRow = 1)
    {
        var first = tensors[0];
        if (tensors.Any(t => t.Constant is null))
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} weights must be parameters of the model, not computed tensors");
        var type = first.Type.ElementType;
        var rowShape = first.Constant!.Shape;
        var blockBytes = first.Constant.Bytes.Length / gateOrder.Length;
        var packed = new byte[first.Constant.Bytes.Length * tensors.Count];
        var offset = 0;
        foreach (var tensor in tensors)
        {
            var bytes = tensor.Constant!.Bytes.Span;
            foreach (var gate in gateOrder)
            {
                bytes.Slice(gate * blockBytes, blockBytes).CopyTo(packed.AsSpan(offset));
                offset += blockBytes;
            }
        }
        var directions = tensors.Count / pairsPerRow;
        long[] shape = pairsPerRow == 2 ? [directions, 2 * rowShape[0]] : [directions, .. rowShape];
        return c.Constant(type, shape, packed, name);
    }
}

/// <summary>
/// Packed sequences (nn.utils.rnn's PackedSequence) as torch stores them: <c>data</c> holds the valid steps time-major,
/// step t of the first <c>batch_sizes[t]</c> sequences (sorted longest first), so step t of sequence b sits at
/// Σ batch_sizes[..t] + b. Unpacking gathers them into [time, batch, …] (where b &lt; batch_sizes[t]); packing takes
/// the valid positions back out in the same order (GatherND at NonZero of the mask). Their lengths depend on the data.
/// </summary>
internal static class Packed
{
    /// <summary>True for the <c>.data</c> overload of lstm/gru/rnn: a tensor of batch sizes where the plain form has its state.</summary>
    public static bool IsPacked(OpArgs a) => a.Get(1) is Value && a.Get(3) is List<object?>;

    /// <summary>The [time, batch, …] form of packed <paramref name="data"/> (<paramref name="padding"/> where a sequence has ended), the [time, batch] mask of valid steps, and the sequence lengths.</summary>
    public static (Value Padded, Value Valid, Value Lengths) Unpack(OpContext c, Value data, Value batchSizes, double padding)
    {
        var sizes = c.Cast(batchSizes, DataType.Int64);
        var (time, batch) = (Shapes.Unknown(), Shapes.Unknown());
        var starts = c.Op("CumSum", [sizes, c.ScalarInt64(0)], sizes.Type, ("exclusive", 1));
        var batchCount = c.Op("Gather", [sizes, c.ScalarInt64(0)], TensorType.Scalar(DataType.Int64), ("axis", 0));
        var entries = c.Unsqueeze(c.Op("Range", [c.ScalarInt64(0), batchCount, c.ScalarInt64(1)], TensorType.Of(DataType.Int64, batch)), [0]);
        var gridType = TensorType.Of(DataType.Int64, time, batch);
        var valid = c.Op("Less", [entries, c.Unsqueeze(sizes, [1])], gridType.WithElementType(DataType.Bool));
        var positions = c.Op("Where", [valid, c.Op("Add", [c.Unsqueeze(starts, [1]), entries], gridType), c.ScalarInt64(0)], gridType);
        var features = data.Type.Shape!.Skip(1).ToArray();
        var gathered = c.Op("Gather", [data, positions], data.Type.WithShape([time, batch, .. features]), ("axis", 0));
        var mask = c.Unsqueeze(valid, Enumerable.Range(2, features.Length).Select(i => (long)i).ToArray());
        var padded = c.Op("Where", [mask, gathered, c.Scalar(padding, data.Type.ElementType)], gathered.Type);
        var lengths = Reduction.Reduce(c, c.Cast(valid, DataType.Int64), [0], keep: false, "ReduceSum", axesAsInput: true);
        return (padded, valid, lengths);
    }

    /// <summary>The valid steps of a [time, batch, …] tensor, time-major: the data of a packed sequence.</summary>
    public static Value Pack(OpContext c, Value padded, Value valid)
    {
        var steps = Permute.Lower(c, c.Op("NonZero", [valid], TensorType.Of(DataType.Int64, 2, Shapes.Unknown())), [1, 0]);
        return c.Op("GatherND", [padded, steps], padded.Type.WithShape([Shapes.Unknown(), .. padded.Type.Shape!.Skip(2)]));
    }
}

/// <summary>
/// <c>_pack_padded_sequence(input, lengths, batch_first)</c> (pack_padded_sequence; with enforce_sorted=False the
/// sorting around it is ordinary ops) → <c>(data, batch_sizes)</c>: the steps t &lt; lengths[b] time-major, and per step
/// up to the longest length the number of sequences that have it.
/// </summary>
[AtenOp("aten::_pack_padded_sequence")]
internal static class PackPaddedSequence
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var input = a.Tensor(0);
        var sequence = a.Bool(2, "batch_first") ? Permute.Lower(c, input, [1, 0, .. Enumerable.Range(2, input.Type.Rank - 2).Select(i => (long)i)]) : input;
        var lengths = c.Cast(a.Tensor(1, "lengths"), DataType.Int64);
        var time = sequence.Type.Shape![0];
        var steps = c.Unsqueeze(c.Op("Range", [c.ScalarInt64(0), time.Value is { } t ? c.ScalarInt64(t) : c.DimSize(sequence, 0), c.ScalarInt64(1)],
            TensorType.Of(DataType.Int64, time)), [1]);
        var valid = c.Op("Less", [steps, c.Unsqueeze(lengths, [0])], TensorType.Of(DataType.Bool, time, sequence.Type.Shape[1]));
        var longest = c.Unsqueeze(Reduction.Reduce(c, lengths, [0], keep: false, "ReduceMax", axesAsInput: c.Opset >= 18), [0]);
        var counts = Reduction.Reduce(c, c.Cast(valid, DataType.Int64), [1], keep: false, "ReduceSum", axesAsInput: true);
        var batchSizes = c.Op("Slice", [counts, c.ConstInt64([0]), longest], counts.Type.WithShape([Shapes.Unknown()]));
        return new Interpret.TupleValue([Packed.Pack(c, sequence, valid), batchSizes]);
    }
}

/// <summary>
/// <c>_pad_packed_sequence(data, batch_sizes, batch_first, padding_value, total_length)</c> (pad_packed_sequence) →
/// <c>(padded, lengths)</c>: the packed steps in [time, batch, …] (or batch first), padding_value after each sequence's
/// end and up to total_length steps.
/// </summary>
[AtenOp("aten::_pad_packed_sequence")]
internal static class PadPackedSequence
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var padding = a.Float(3, "padding_value");
        var (padded, _, lengths) = Packed.Unpack(c, a.Tensor(0), a.Tensor(1, "batch_sizes"), padding);
        var rank = padded.Type.Rank;
        // pad_packed_sequence passes total_length, else the packed length batch_sizes.size(0), a run-time int when traced.
        var (totalLength, steps) = a.Get(4, "total_length") is DynamicInt dynamic
            ? (dynamic.Scalar, dynamic.Scalar.SizeOf ?? Shapes.Unknown())
            : (c.ScalarInt64(a.Int(4, "total_length")), Dim.Of(a.Int(4, "total_length")));
        var missing = c.Op("Sub", [totalLength, c.DimSize(padded, 0)], TensorType.Scalar(DataType.Int64));
        var pads = c.Op("Concat", [c.ConstInt64(new long[rank]), c.Unsqueeze(missing, [0]), c.ConstInt64(new long[rank - 1])],
            TensorType.Of(DataType.Int64, 2 * rank), ("axis", 0));
        var full = c.Op("Pad", [padded, pads, c.Scalar(padding, padded.Type.ElementType)], padded.Type.WithShape([steps, .. padded.Type.Shape!.Skip(1)]));
        var output = a.Bool(2, "batch_first") ? Permute.Lower(c, full, [1, 0, .. Enumerable.Range(2, rank - 2).Select(i => (long)i)]) : full;
        return new Interpret.TupleValue([output, lengths]);
    }
}
