// What a Relay app of roombook would hold: a room page whose reservations paginate
// (@connection over reservationsConnection, refetched through Node), a paginated room list,
// and a booking. relay-compiler checks them against schema.graphql and persists them.
import { graphql } from 'react-relay';

export const roomList = graphql`
  fragment RoomList_query on Query
  @refetchable(queryName: "RoomListPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 2 }
    cursor: { type: "String" }
  ) {
    roomsConnection(first: $count, after: $cursor)
      @connection(key: "RoomList_roomsConnection") {
      edges {
        node {
          id
          name
          capacity
        }
      }
    }
  }
`;

export const rooms = graphql`
  query RoomListQuery {
    ...RoomList_query
  }
`;
