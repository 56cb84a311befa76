return 1
----
return {1,2,3,'a',true,false,nil,4}
----
return 3.99
----
return -3.99
----
return {1.5, 'x', {ok='fine'}, {double=1.5}}
----
return {err='My Error'}
----
return {err={}}
----
return {ok='a\r\nb'}
----
return redis.error_reply('MY_CODE some text')
----
return redis.error_reply('-X y')
----
return redis.error_reply('plain')
----
return redis.error_reply(1)
----
return redis.status_reply('FINE')
----
return redis.status_reply(1)
----
return {double=3.25}
----
return {double='x'}
----
return {big_number='123456789012345678901234567890'}
----
return {verbatim_string={format='txt', string='hello'}}
----
return {verbatim_string={format='mkd', string='# hi'}}
----
return {map={a=1}}
----
return {set={a=true}}
----
return true
----
return false
----
return nil
----
redis.setresp(3); return true
----
redis.setresp(3); return false
----
redis.setresp(3); return {map={a=1}}
----
redis.setresp(3); return {set={x=true}}
----
redis.setresp(3); return {double=0.1}
----
redis.setresp(3); return {big_number='99'}
----
redis.setresp(4)
----
redis.setresp()
----
x = 1
----
return y
----
print('x')
----
return loadfile
----
return dofile
----
return io
----
return require
----
return module
----
return type(debug)
----
error('boom')
----
error({err='x'})
----
error({err='x', line=3})
----
return redis.call('ping', {})
----
return redis.call()
----
return redis.pcall()
----
return redis.sha1hex('')
----
return redis.sha1hex('abc')
----
return redis.sha1hex()
----
return redis.sha1hex(nil)
----
return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM, redis.VALKEY_VERSION, redis.VALKEY_VERSION_NUM, redis.SERVER_NAME, server.REDIS_VERSION}
----
return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}
----
return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}
----
return redis.replicate_commands()
----
return redis.breakpoint()
----
return redis.debug('x')
----
redis.set_repl(8)
----
redis.set_repl()
----
redis.set_repl(redis.REPL_NONE) return 'ok'
----
redis.log(redis.LOG_WARNING)
----
redis.log('x', 'y')
----
redis.log(10, 'y')
----
redis.log(redis.LOG_DEBUG, 'hello', 'world') return 1
----
return redis.acl_check_cmd()
----
return rawequal(redis, server)
----
redis.foo = 1
----
string.foo = 1
----
rawset(_G, 'x', 1)
----
setmetatable(_G, {})
----
table.insert(cjson, 1)
----
cjson.encode = nil
----
cmsgpack.pack = nil
----
bit.band = nil
----
struct.pack = nil
----
math.foo = 1
----
return os.time
----
return type(os.clock())
----
return loadstring(string.dump(function() return 1 end))
----
return _VERSION
----
return type(newproxy)
----
return type(coroutine.create)
----
return type(gcinfo)
----
return pcall(error, 'x')
----
return {pcall(redis.call, 'ping', {})}
----
return {pcall(function() error({err='abc'}) end)}
----
return {pcall(function() error({foo='abc'}) end)}
----
return pcall()
----
return cjson.encode({1,2,3})
----
return cjson.encode({a=1})
----
return cjson.encode({})
----
return cjson.encode('he"l\\lo/\n\1\127')
----
return cjson.encode(0.1)
----
return cjson.encode(1/3)
----
return cjson.encode(1e300)
----
return cjson.encode(123456789012345)
----
return cjson.encode(-0)
----
return cjson.encode(1/0)
----
return cjson.encode(0/0)
----
return cjson.encode({[1]=1,[3]=3})
----
return cjson.encode({[1]=1,[20]=3})
----
return cjson.encode({[20]=3})
----
return cjson.encode({[1.5]=3})
----
return cjson.encode({[true]=3})
----
return cjson.encode(function() end)
----
return cjson.encode(cjson.null)
----
return cjson.encode(nil)
----
return cjson.encode()
----
return cjson.encode(1, 2)
----
return cjson.encode({a={b={c={1,2,{d=true}}}}})
----
return cjson.encode({z=1,y=2,x=3,w=4,v=5,abc=6,['10']=7})
----
local t = {} for i=1,20 do t['key'..i] = i end return cjson.encode(t)
----
local t = {} t[1] = t return cjson.encode(t)
----
cjson.encode_max_depth(2) local ok, e = pcall(cjson.encode, {{{1}}}) cjson.encode_max_depth(1000) return e
----
return {cjson.encode_max_depth()}
----
return {cjson.encode_sparse_array()}
----
return {cjson.encode_invalid_numbers()}
----
return {cjson.decode_invalid_numbers()}
----
return {cjson.encode_keep_buffer()}
----
return {cjson.encode_number_precision()}
----
return {cjson.decode_max_depth()}
----
return cjson.encode_max_depth(0)
----
return cjson.encode_max_depth(1, 2)
----
return cjson.encode_invalid_numbers('maybe')
----
cjson.encode_invalid_numbers('null') local r = cjson.encode({1/0, 0/0}) cjson.encode_invalid_numbers(false) return r
----
cjson.encode_invalid_numbers(true) local r = cjson.encode({1/0, -1/0, 0/0}) cjson.encode_invalid_numbers(false) return r
----
cjson.encode_number_precision(3) local r = cjson.encode(1/3) cjson.encode_number_precision(14) return r
----
cjson.encode_sparse_array(true) local r = cjson.encode({[1]=1,[20]=3}) cjson.encode_sparse_array(false) return r
----
return {cjson.encode_sparse_array(true, 4, 5)}
----
cjson.encode_sparse_array(false, 2, 10) return 1
----
return cjson.decode('[1,2,3]')
----
return cjson.decode('{"a":1}').a
----
return cjson.decode('"\\u00e9\\ud83d\\ude00"')
----
return cjson.decode('[1,2')
----
return cjson.decode('{"a":1,}')
----
return cjson.decode('[1] x')
----
return cjson.decode('')
----
return cjson.decode('nul')
----
return cjson.decode('"abc')
----
return cjson.decode('"\\q"')
----
return cjson.decode('"\\ud800"')
----
return cjson.decode('"\\udc00\\ud800"')
----
return cjson.decode('0x10')
----
return tostring(cjson.decode('0x10'))
----
return tostring(cjson.decode('1e400'))
----
return tostring(cjson.decode('-Infinity'))
----
return tostring(cjson.decode('nan'))
----
return cjson.decode('+1')
----
return cjson.decode('01')
----
return cjson.decode('1.')
----
return cjson.decode('.5')
----
return cjson.decode('[true,false,null]')[3] == cjson.null
----
return cjson.decode('a\0b')
----
return cjson.decode('[1]\0junk')
----
return cjson.decode()
----
return cjson.decode({})
----
return cjson.decode(' \t\n[ 1 , 2 ] ')
----
cjson.decode_max_depth(2) local ok, e = pcall(cjson.decode, '[[[1]]]') cjson.decode_max_depth(1000) return e
----
cjson.decode_invalid_numbers(false) local ok, e = pcall(cjson.decode, '0x10') cjson.decode_invalid_numbers(true) return e
----
return cjson.encode(cjson.decode('{"x":[1,{"y":"z"}],"n":null}'))
----
return {cjson._NAME, cjson._VERSION}
----
local c = cjson.new() c.encode_number_precision(2) return {c.encode(1/3), cjson.encode(1/3)}
----
return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769)
----
return cmsgpack.pack(4294967295, 4294967296, -2147483648, -2147483649, 9007199254740992)
----
return cmsgpack.pack(1.5, 0.1, -0.0, 1/0, 0/0, 1e300)
----
return cmsgpack.pack('a', string.rep('x', 31), string.rep('y', 32), string.rep('z', 256))
----
return cmsgpack.pack({1,2,3}, {a=1}, {}, true, false, nil)
----
return cmsgpack.pack({1,nil,3})
----
return cmsgpack.pack({[1]=1,[2]=2,[4]=4})
----
local t = {} for i=1,16 do t[i]=i end return cmsgpack.pack(t)
----
local t = {} t[1] = t return cmsgpack.pack(t)
----
return cmsgpack.pack(function() end)
----
return cmsgpack.pack()
----
return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {x='y'}))}
----
return cmsgpack.unpack('\205')
----
return cmsgpack.unpack('\193')
----
return cmsgpack.unpack('\196\1a')
----
return cmsgpack.unpack('')
----
return {cmsgpack.unpack('\207\255\255\255\255\255\255\255\255')}
----
return {cmsgpack.unpack('\211\255\255\255\255\255\255\255\254')}
----
return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}
----
return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}
----
return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}
----
return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5)}
----
return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 1, 1)}
----
return cmsgpack.unpack_one('abc', -1)
----
return cmsgpack.unpack_one('abc', 10)
----
return cmsgpack.unpack('\129\192\1')
----
return {cmsgpack.unpack('\145\1')}
----
return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}
----
return {bit.tobit(1), bit.tobit(-1), bit.tobit(2^32 + 5), bit.tobit(2.5), bit.tobit(3.5), bit.tobit('12')}
----
return {bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.band()}
----
return bit.band()
----
return {bit.lshift(1, 31), bit.lshift(1, 32), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}
----
return {bit.tohex(255), bit.tohex(255, 2), bit.tohex(-1, -4), bit.tohex(1, 20), bit.tohex(1, 0)}
----
return bit.tobit({})
----
return bit.tobit()
----
return bit.tobit('x')
----
return struct.pack('>i2<i2', 1, 1)
----
return struct.pack('bBhHlLiI', -1, 255, -2, 65535, -3, 4, -5, 6)
----
return struct.pack('!4 b i', 1, 2)
----
return struct.pack('s c3 c0', 'ab', 'xyz', 'rest')
----
return struct.pack('c3', 'x')
----
return struct.pack('i', 'x')
----
return struct.pack('z')
----
return struct.pack('i40', 1)
----
return struct.pack('!3 i', 1)
----
return struct.pack('f d', 1.5, 0.1)
----
return struct.pack('>f >d', 1.5, 0.1)
----
return {struct.unpack('>i2<i2', struct.pack('>i2<i2', 1, 1))}
----
return {struct.unpack('bBhH', struct.pack('bBhH', -1, 255, -2, 65535))}
----
return {struct.unpack('s c2', 'ab\0xy')}
----
return {struct.unpack('b c0', '\3abc')}
----
return {struct.unpack('c0', 'abc')}
----
return {struct.unpack('i', 'ab')}
----
return {struct.unpack('s', 'abc')}
----
return {struct.unpack('b', 'abc', 2)}
----
return {struct.unpack('b', 'abc', 0)}
----
return {struct.unpack('f d', struct.pack('f d', 1.5, 0.1))}
----
return {struct.unpack('i16', string.rep('\255', 16))}
----
return {struct.size('i'), struct.size('!bd'), struct.size('bd'), struct.size('<i2>I3c5'), struct.size('zq')}
----
return struct.size('s')
----
return struct.size('c0')
----
return struct.size('%')
----
return struct.pack('i99999999999', 1)
----
return tostring(1e15)
----
return tostring(0.1)
----
return {tostring(2^53), 2^53, -2^63, 2^63, 1e20}
----
local t = {} for i=1,10 do t['k'..i] = i end local keys = {} for k in pairs(t) do keys[#keys+1] = k end return keys
----
local t = {} for i=1,30 do t[string.rep('a', i)] = i end local keys = {} for k in pairs(t) do keys[#keys+1] = #k end return keys
----
return {math.floor(3.7), math.max(1, 5), string.format('%5.2f', 3.14159), string.rep('ab', 3), table.concat({1,2,3}, ',')}
----
math.randomseed(42) return {tostring(math.random()), math.random(10), math.random(5, 7)}
----
math.randomseed(42) return math.random(0)
----
math.randomseed(42) return math.random(3, 1)
----
math.randomseed(42) return math.random(1, 2, 3)
----
return #KEYS + #ARGV
----
return redis.call('ping')
