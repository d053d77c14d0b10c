namespace ModelForge.Model.Tests;

public sealed class InputShapesTests
{
    private static List<InputSpec> Inputs(params string[] texts) => texts.Select(InputSpec.Parse).ToList();

    [Fact]
    public void The_batch_size_goes_wherever_the_batch_symbol_is_and_other_symbols_take_their_sizes()
    {
        var shapes = InputShapes.At(Inputs("x:float32[batch,3,seq]", "mask:bool[seq,batch]", "fixed:int64[4,2]", "s:float64[]"), 5,
            new Dictionary<string, long> { ["seq"] = 7 });

        Assert.Empty(shapes.Unsized);
        Assert.Equal([5L, 3, 7], shapes.Shapes[0]);
        Assert.Equal([7L, 5], shapes.Shapes[1]);
        Assert.Equal([4L, 2], shapes.Shapes[2]);
        Assert.Empty(shapes.Shapes[3]);
    }

    [Fact]
    public void The_batch_size_wins_over_a_size_given_for_the_batch_symbol()
    {
        var shapes = InputShapes.At(Inputs("x:float32[n,n]"), 3, new Dictionary<string, long> { ["n"] = 4 });

        Assert.Equal([3L, 3], shapes.Shapes[0]);
    }

    [Fact]
    public void Symbols_without_a_size_are_listed_in_input_and_dim_order()
    {
        var shapes = InputShapes.At(Inputs("a:float32[n,seq]", "b:float32[m,seq,len]"), 2, new Dictionary<string, long> { ["len"] = -1 });

        Assert.Equal([new UnsizedDim(0, 1, "seq"), new UnsizedDim(1, 0, "m"), new UnsizedDim(1, 1, "seq"), new UnsizedDim(1, 2, "len")], shapes.Unsized);
        Assert.Equal([2L, -1], shapes.Shapes[0]);
        Assert.Equal([-1L, -1, -1], shapes.Shapes[1]);
    }

    [Fact]
    public void Without_a_batch_dim_every_symbol_needs_a_size()
    {
        var shapes = InputShapes.At(Inputs("scale:float32[1]", "x:float32[batch,3]"), 8, new Dictionary<string, long>());

        Assert.Equal([new UnsizedDim(1, 0, "batch")], shapes.Unsized);
    }
}
